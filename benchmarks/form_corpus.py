"""What the `form` codec keeps of a folder of ABC tunes (issue 19): tunes with repeats and with
endings, notes kept, onsets on the grid, token lengths.

    python benchmarks/form_corpus.py /work/shared/data/nottingham/ABC_cleaned
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from seqgan_music.io.downloads import cache_dir
from seqgan_music.music.codecs import FormCodec
from seqgan_music.music.corpus import _cached_read


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/nottingham/ABC_cleaned")
    started = time.perf_counter()
    codec = FormCodec()
    lengths: list[int] = []
    coverage = np.zeros(3)
    repeats = endings = 0
    for path in sorted(folder.glob("*.abc")):
        tunes, _ = _cached_read(path, 0.4, "auto", cache_dir() / "parsed", "form")
        for tune in tunes:
            lengths.append(len(tune.tokens))
            coverage += tune.coverage or (0, 0, 0)
            repeats += bool(np.isin(tune.tokens, [codec.REP_END, codec.REP_BOTH]).any())
            endings += bool((tune.tokens == codec.ENDING_1).any())
    array = np.array(lengths)
    print(json.dumps({
        "tunes": len(array), "with_repeat": round(repeats / len(array), 4),
        "with_endings": round(endings / len(array), 4), "notes": int(coverage[0]),
        "notes_kept": round(coverage[1] / coverage[0], 5),
        "onsets_on_grid": round(coverage[2] / coverage[0], 4),
        "tokens_median": float(np.median(array)), "tokens_p90": float(np.percentile(array, 90)),
        "tokens_p99": float(np.percentile(array, 99)), "tokens_max": int(array.max()),
        "longer_than_768": int((array > 768).sum()),
        "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()

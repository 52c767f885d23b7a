"""ABC round trip: read ABC tunes (as written, with their form and chords), write them with
`abc.abc_tune`, read the result back with music21, and compare the notes as played (repeats
expanded; a tie over a bar line joined), the key with its mode, the meter and the form marks.

    python benchmarks/folk_abc_roundtrip.py /work/shared/data/nottingham/ABC_cleaned 6
    (every 6th tune of each file)
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from seqgan_music.music.abc import abc_tune
from seqgan_music.music.readers import UnusableFile, _abc_tunes, abc_melody

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_folk import played  # noqa: E402


def marks(melody) -> list:
    """Form marks, less a part boundary at the tune's very end (we close a tune with `|]`,
    which music21 reads as one; the source may end with a plain bar line)."""
    end = max(n[1] for n in melody.notes)
    return [(round(p, 4), m) for p, m in melody.form if not (m == "||" and p >= end - 1e-6)]


def main(folder: Path, every: int) -> None:
    same = differ = skipped = 0
    for path in sorted(folder.glob("*.abc")):
        header, texts = _abc_tunes(path)
        for index, text in enumerate(texts[::every]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    melody = abc_melody(header + text)
                    back = abc_melody(abc_tune(melody))
                except UnusableFile:
                    skipped += 1
                    continue
            if played(back) == played(melody) and back.key == melody.key \
                    and back.meter == melody.meter and marks(back) == marks(melody):
                same += 1
            else:
                differ += 1
                print(f"differs: {path.name} tune {index * every + 1}")
    print(f"{same} of {same + differ} tunes read back with the same notes, key, meter and form "
          f"marks ({skipped} unreadable by the reader skipped)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1)

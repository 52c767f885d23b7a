"""How many tunes of an ABC corpus are modal: the mode its K: fields write, and the mode
`codecs.estimate_mode` reads from the notes against that signature (the final note's degree).

    python benchmarks/folk_modes.py /work/shared/data/nottingham/ABC_cleaned
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from seqgan_music.music.codecs import key_name, parse_key
from seqgan_music.music.readers import read_melodies


def main(folder: Path, cache: Path = Path("/tmp/folk-corpus.pkl")) -> None:
    """`cache`: the tunes read once (shared with folk_chords.py: music21 takes minutes)."""
    import pickle

    cached = None
    if cache.is_file():
        cached = pickle.loads(cache.read_bytes())
    else:
        cached = {p.name: read_melodies(p)[0] for p in sorted(folder.glob("*.abc"))}
        cache.write_bytes(pickle.dumps(cached))
    written: Counter[str] = Counter()
    estimated: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    total = 0
    for path in sorted(folder.glob("*.abc")):
        text = path.read_text(encoding="utf-8", errors="replace")
        fields = re.findall(r"(?m)^K:\s*(\S+)", text)
        for field in fields:
            try:
                written[parse_key(field, "K:")[1]] += 1
            except Exception:
                written["unreadable"] += 1
        tunes = cached.get(path.name) if cached is not None else None
        if tunes is None:
            tunes = read_melodies(path)[0]
        for name, melody in tunes:
            total += 1
            mode = melody.key[1]
            estimated[mode] += 1
            examples.setdefault(mode, []).append(f"{name} ({key_name(melody.key)})")
    print(f"{total} tunes read; K: fields: {dict(written)}")
    modal = sum(v for k, v in estimated.items() if k not in ("major", "minor"))
    print(f"modes read from the notes: {dict(estimated)}; modal: {modal} "
          f"({modal / max(total, 1):.1%})")
    for mode, names in examples.items():
        if mode not in ("major", "minor"):
            print(f"  {mode}: {', '.join(names[:6])}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/nottingham/ABC_cleaned"))

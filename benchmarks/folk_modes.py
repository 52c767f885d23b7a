"""How many tunes of the Nottingham corpus are modal: the modes its ABC K: fields write, and the
mode `codecs.estimate_mode` reads from each tune's notes against its key signature (the final
note's degree: a K:G tune ending on A is A dorian, on D D mixolydian).

    python benchmarks/folk_modes.py   # after folk_chords.py, whose corpus cache it reads

The notes come from jukedeck's MIDI renderings (melody track and key signature), read once by
benchmarks/folk_chords.py into /tmp/folk-corpus.pkl.
"""

from __future__ import annotations

import pickle
import re
import sys
from collections import Counter
from pathlib import Path

from seqgan_music.music.keys import key_name, parse_key


def main(abc: Path, cache: Path) -> None:
    written: Counter[str] = Counter()
    for path in sorted(abc.glob("*.abc")):
        for field in re.findall(r"(?m)^K:\s*(\S+)", path.read_text(errors="replace")):
            try:
                written[parse_key(field, "K:")[1]] += 1
            except Exception:
                written["unreadable"] += 1
    tunes = pickle.loads(cache.read_bytes())
    estimated: Counter[str] = Counter(m.key[1] for _, m in tunes)
    modal = sum(v for k, v in estimated.items() if k not in ("major", "minor"))
    print(f"K: fields of {abc}: {dict(written)}")
    print(f"{len(tunes)} tunes; modes read from the notes against the signature: "
          f"{dict(estimated)}; modal {modal} ({modal / max(len(tunes), 1):.1%})")
    for mode in ("dorian", "mixolydian"):
        names = [f"{n} ({key_name(m.key)})" for n, m in tunes if m.key[1] == mode]
        print(f"  {mode}: {', '.join(names[:8])}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/nottingham/ABC_cleaned"),
         Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/folk-corpus.pkl"))

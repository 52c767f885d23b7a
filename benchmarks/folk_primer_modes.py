"""Do composed tunes keep a modal primer's mode? The first 8 bars of every tune of the Nottingham
corpus that `estimate_mode` reads as dorian or mixolydian (and The Morrison's jig, K:Edor) are
written as an ABC primer; the default model continues each; we count tunes written in the
primer's key and mode, the continuation's notes inside that mode's scale, and, of the tunes the
model ended, those whose last note is the mode's tonic.

    python benchmarks/folk_chords.py        # reads the corpus once into /tmp/folk-corpus.pkl
    python benchmarks/folk_primer_modes.py  # then this
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

from seqgan_music.app.compose import ComposeOptions, compose
from seqgan_music.music.abc import write_abc
from seqgan_music.music.keys import mode_scale
from seqgan_music.music.readers import abc_melody

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_folk import MORRISON  # noqa: E402


def opening(melody, bars: int = 8):
    """The melody's first `bars` bars (after a pick-up), chords and form dropped."""
    bar = melody.bar_length()
    stop = melody.pickup() + bars * bar
    notes = [(s, min(e, stop), p) for s, e, p in melody.notes if s < stop - 1e-9]
    return replace(melody, notes=notes, end=stop, chords=[], form=[],
                   bars=[b for b in melody.bars if b < stop - 1e-9])


def main(cache: Path = Path("/tmp/folk-corpus.pkl"), length: int = 384) -> None:
    tunes = [(n, m) for n, m in pickle.loads(cache.read_bytes())
             if m.key[1] in ("dorian", "mixolydian")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tunes.append(("The Morrison's jig", abc_melody(MORRISON)))
    kept = inside = total = ended = tonic = 0
    with tempfile.TemporaryDirectory() as folder:
        for index, (name, melody) in enumerate(tunes):
            primer = Path(folder) / f"p{index}.abc"
            first = opening(melody)
            write_abc(first, primer, [name])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = compose(ComposeOptions(out=Path(folder) / f"t{index}.mid",
                                                primer=primer, length=length, seed=1,
                                                chords=False))
            written = result.melodies[0]
            kept += written.key == melody.key
            scale = {(melody.key[0] + s) % 12 for s in mode_scale(melody.key[1])}
            start = first.length
            rest = [p for s, _, p in written.notes if s >= start - 1e-9]
            inside += sum(p % 12 in scale for p in rest)
            total += len(rest)
            if written.ended and rest:
                ended += 1
                tonic += rest[-1] % 12 == melody.key[0]
    count = len(tunes)
    print(f"{count} modal primers ({sum(m.key[1] == 'dorian' for _, m in tunes)} dorian); "
          f"written in the primer's key and mode: {kept}/{count}; continuation notes in the "
          f"mode's scale: {inside / max(total, 1):.3f} ({total} notes); ended on the mode's "
          f"tonic: {tonic}/{ended} of the tunes the model ended")


if __name__ == "__main__":
    main()

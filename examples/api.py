"""Compose with the Python API: tunes in memory, written only where you ask.

    python examples/api.py [OUT_DIR]

Uses the model shipped with the package (no training, no torch import); takes a second or two.
"""

from __future__ import annotations

import sys
from pathlib import Path

import seqgan_music


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "api-tunes")
    out.mkdir(parents=True, exist_ok=True)

    model = seqgan_music.load_model()  # the shipped default; or a name, run dir or model folder
    print(f"model: {model.name} ({model.representation}, licence {model.card.get('license')})")

    # Same seed and options as `seqgan-music compose --seed 7 -n 2 --meter 6/8`: the same tunes.
    tunes = seqgan_music.compose(2, model=model, seed=7, meter="6/8")
    for number, tune in enumerate(tunes, 1):
        first = ", ".join(f"{n.pitch}@{n.start:.2f}s" for n in tune.notes[:4])
        print(f"tune {number}: {tune.key}, {tune.meter}, {len(tune.notes)} notes, "
              f"{tune.seconds:.1f} s; starts {first}")
        print(f"  wrote {tune.write(out / f'tune-{number}.mid', force=True)}")

    # A primer, inline or a .mid/.abc file, and a key of your choice.
    (continued,) = seqgan_music.compose(primer="D4 - E4 F#4 | G4", key="D", seed=3)
    print(f"primed tune: {continued.key}, {len(continued.notes)} notes")
    midi = continued.to_pretty_midi()  # a pretty_midi.PrettyMIDI to edit further
    print(f"  pretty_midi: {len(midi.instruments[0].notes)} notes, "
          f"{midi.get_end_time():.1f} s")


if __name__ == "__main__":
    main()

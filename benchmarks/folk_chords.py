"""Chords of the Nottingham tunes: learn the harmoniser's tables and measure harmonisations.

The chords come from the chord tracks of jukedeck's Nottingham MIDI files (the ABC sources'
chord symbols, rendered; reading the MIDI takes a minute where music21's ABC parser takes most of
an hour on two busy cores).

    python benchmarks/folk_chords.py --learn           # writes seqgan_music/music/harmony.json
    python benchmarks/folk_chords.py --composed 100    # also harmonises 100 composed tunes

Tunes are split by position (every fifth tune held out); the tables are learned from the
others. Rows: the corpus's own chord symbols on the held-out melodies, our harmonisation of the
same melodies, our harmonisation of tunes composed by the default model (`compose`).
Figures: strong-beat melody notes that are chord tones, chord changes per bar, strain ends
(every 8 bars and the end) closing V-I.
"""

from __future__ import annotations

import argparse
import json
import pickle
import warnings
from dataclasses import replace
from pathlib import Path

from seqgan_music.music.harmony import (
    chord_statistics,
    harmonise,
    learn_table,
    midi_chords,
    summarise,
)
from seqgan_music.music.readers import midi_melody

TABLE = Path(__file__).resolve().parents[1] / "seqgan_music" / "music" / "harmony.json"


def corpus(folder: Path, cache: Path) -> list:
    """The corpus's melodies with their chords, read once from the Nottingham MIDI files (the
    melody track, its key signature and mode; the chord track named chord by chord): pickled in
    `cache` (folk_modes.py shares it)."""
    if not cache.is_file():
        found = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for path in sorted(folder.glob("*.mid")):
                try:
                    melody = midi_melody(path)
                except Exception:  # an unusable file: skipped, as the corpus builder does
                    continue
                found.append((path.name, replace(melody, chords=midi_chords(path))))
        cache.write_bytes(pickle.dumps(found))
    return [m for _, m in pickle.loads(cache.read_bytes())]


def row(name: str, stats: list[dict]) -> None:
    s = summarise(stats)
    print(f"| {name} | {s['tunes']} | {s['in_chord']:.3f} | {s['changes_per_bar']:.2f} | "
          f"{s['cadences']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path,
                        default=Path("/work/shared/data/nottingham/MIDI"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/folk-corpus.pkl"))
    parser.add_argument("--learn", action="store_true", help="write harmony.json")
    parser.add_argument("--composed", type=int, default=0)
    args = parser.parse_args()
    melodies = [m for m in corpus(args.data, args.cache) if m.chords]
    train = [m for i, m in enumerate(melodies) if i % 5]
    held = [m for i, m in enumerate(melodies) if not i % 5]
    table = learn_table(train)
    print(f"{len(melodies)} tunes with chord symbols; learned on {len(train)}, held out "
          f"{len(held)}; chords per family: "
          f"{ {f: len(t['chords']) for f, t in table['families'].items()} }")
    if args.learn:
        full = learn_table(melodies)
        full["source"] = ("the chord tracks of the Nottingham MIDI files (jukedeck), "
                          "benchmarks/folk_chords.py --learn")
        TABLE.write_text(json.dumps(full, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {TABLE}")
    print("| harmony | tunes | strong-beat notes in chord | chord changes per bar | "
          "strain ends V-I |")
    print("|---|---|---|---|---|")
    row("corpus chords, held-out melodies", [chord_statistics(m, m.chords) for m in held])
    ours = [chord_statistics(m, harmonise(replace(m, chords=[]), table)) for m in held]
    row("ours, held-out melodies", ours)
    if args.composed:
        import tempfile

        from seqgan_music.app.compose import ComposeOptions, compose

        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "t.mid"
            result = compose(ComposeOptions(out=out, num=args.composed, seed=1, chords=False))
            composed = result.melodies
        row("ours, composed melodies",
            [chord_statistics(m, harmonise(m, table)) for m in composed])


if __name__ == "__main__":
    main()

"""How much of a corpus each representation keeps: notes with their own onset, onsets exactly on
the grid, and the tokens a tune costs. Prints one table row per representation.

    OMP_NUM_THREADS=1 python benchmarks/bench_representation.py /work/shared/data/nottingham

`paper`: 88 pitches + rest sampled every 0.4 s (a note is kept when it sounds at a sampling
step; an onset is on the grid when it falls on a step). `onset`: the onset codec at 4 steps per
quarter (sixteenths, the shipped choice), with 2 (eighths) and 12 (sixteenth triplets) beside it
for the choice of resolution. Reads the MIDI melodies (jukedeck layout) or every MIDI/ABC file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from seqgan_music.music.codecs import OnsetCodec
from seqgan_music.music.corpus import find_music_files
from seqgan_music.music.readers import (
    UnusableFile,
    lost_notes,
    midi_melody_notes,
    read_melodies,
    sample_melody,
)


def main(root: Path) -> None:
    files, layout = find_music_files(root)
    started = time.perf_counter()
    codecs = {f"onset, {n} per quarter": OnsetCodec(n) for n in (4, 2, 12)}
    totals = {name: [0, 0, 0, 0] for name in ["paper, 0.4 s", *codecs]}  # notes kept grid tokens
    tunes = 0
    for path in files:
        try:
            melodies, _ = read_melodies(path)
        except UnusableFile:
            continue
        if path.suffix.lower() != ".abc":
            notes, end = midi_melody_notes(path)
            tokens = sample_melody(notes, 0.4, end)
            row = totals["paper, 0.4 s"]
            row[0] += len(notes)
            row[1] += len(notes) - lost_notes(notes, tokens, 0.4)
            row[2] += sum(abs(s / 0.4 - round(s / 0.4)) < 1e-6 for s, _, _ in notes)
            row[3] += len(tokens)
        for _, melody in melodies:
            tunes += 1
            for name, codec in codecs.items():
                encoded = codec.encode(melody)
                row = totals[name]
                row[0] += encoded.notes
                row[1] += encoded.kept
                row[2] += encoded.on_grid
                row[3] += len(encoded.tokens)
    print(f"{root} ({layout}): {len(files)} files, {tunes} tunes, read in "
          f"{time.perf_counter() - started:.0f} s")
    print("| representation | notes | notes kept | onsets on the grid | tokens per tune |")
    print("|---|---|---|---|---|")
    for name, (notes, kept, grid, tokens) in totals.items():
        if notes:
            print(f"| {name} | {notes:,} | {kept / notes:.2%} | {grid / notes:.2%} | "
                  f"{tokens / max(tunes, 1):.0f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/nottingham"))

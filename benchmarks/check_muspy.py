"""Our melody statistics against MusPy's metrics on the same tunes (MusPy is not a dependency:
`pip install muspy` to run this). Prints, for the real Nottingham melodies (or any MIDI files),
the mean of each figure as `seqgan_music.music.metrics.melody_statistics` computes it and as
MusPy does, and the largest difference on one tune.

    python benchmarks/check_muspy.py ../shared/data/nottingham [--limit 200]

Ours / MusPy: pitch_range / muspy.pitch_range (semitones); pitch_classes /
muspy.n_pitch_classes_used; pc_entropy / muspy.pitch_class_entropy (ours weights pitch classes
by duration, MusPy counts notes); in_scale / muspy.scale_consistency (ours: share of time in the
best major or natural-minor scale; MusPy: share of notes in the best major or minor scale).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from seqgan_music.music.corpus import find_music_files
from seqgan_music.music.metrics import melody_statistics
from seqgan_music.music.readers import midi_melody

PAIRS = (("pitch_range", "pitch_range"), ("pitch_classes", "n_pitch_classes_used"),
         ("pc_entropy", "pitch_class_entropy"), ("in_scale", "scale_consistency"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--limit", type=int, default=200, help="files to read (0: all)")
    args = parser.parse_args()
    try:
        import muspy
    except ImportError:
        sys.exit("MusPy is not installed (pip install muspy); nothing to compare")
    files, _ = find_music_files(args.root)
    files = [f for f in sorted(files) if f.suffix.lower() in (".mid", ".midi")]
    files = files[: args.limit] if args.limit else files
    ours: dict[str, list[float]] = {k: [] for k, _ in PAIRS}
    theirs: dict[str, list[float]] = {k: [] for k, _ in PAIRS}
    for path in files:
        melody = midi_melody(path)
        stats = melody_statistics([melody], whole_tunes=True)
        music = muspy.read_midi(str(path))
        music.tracks = music.tracks[:1]  # the melody track, as midi_melody reads it
        for mine, name in PAIRS:
            ours[mine].append(stats[mine])
            theirs[mine].append(float(getattr(muspy, name)(music)))
    print(f"{len(files)} MIDI files from {args.root}; muspy {muspy.__version__}")
    print("| figure | ours (mean) | MusPy (mean) | largest difference on one tune |")
    print("|---|---|---|---|")
    for mine, name in PAIRS:
        a, b = np.array(ours[mine]), np.array(theirs[mine])
        print(f"| {mine} / {name} | {a.mean():.4f} | {b.mean():.4f} | {np.abs(a - b).max():.4f} |")


if __name__ == "__main__":
    main()

"""The music evaluation table: composed whole tunes of the MLE and SeqGAN models of onset runs
(and the shipped paper model) beside the real held-out tunes, on musician's statistics.

    OMP_NUM_THREADS=1 python benchmarks/bench_music_eval.py --data /work/shared/data/nottingham \\
        runs/nottingham/RUN [RUN ...] [--paper] [-n 100]

For each run: `checkpoints/mle.pt` (the MLE model the run started SeqGAN from) and its final
model, `n` tunes each (seed = the run index, whole tunes up to 1,024 steps, ended by the
model's end token), decoded by the run's codec and written back in C major / A minor. Real:
the run's test-split tunes, read from the MIDI files and passed through the same codec (so the
row shows what the representation keeps). Figures (means over tunes unless said): pitch range
(semitones), pitch classes, pitch-class entropy (bits, duration-weighted), scale consistency
(share of time in the best major/natural-minor scale), repeated notes (share of successive
note pairs on one pitch), rests (share of time), note lengths (share of sixteenths, eighths,
quarters, longer), ends on the tonic (last note = tonic of the tune's estimated key), ended (the
model wrote an end), copied 8-grams (runs of 8 notes, pitch and length, found in the training
tunes), notes lost (source notes without their own onset; real tunes only). Computed here, not
with MusPy (not a dependency); every statistic is defined in
`seqgan_music.music.metrics.melody_statistics`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.app.inference import read_model
from seqgan_music.music.codecs import codec_from_spec
from seqgan_music.music.metrics import COPY_N, melody_statistics
from seqgan_music.music.readers import midi_melody

COLUMNS = ("bars", "pitch_range", "pitch_classes", "pc_entropy", "in_scale", "repeats", "rests",
           "len_sixteenth", "len_eighth", "len_quarter", "ends_on_tonic", "ended",
           "copied_8grams", "notes_lost")
LABELS = ("bars", "range", "classes", "PC entropy", "in scale", "repeats", "rests", "16ths", "8ths",
          "4ths", "ends on tonic", "ended", "copied 8-grams", "notes lost")


def grams(melodies: list[Any]) -> np.ndarray:
    """Each run of 8 successive notes of each melody, hashed: their lengths in sixteenths and
    their pitches relative to the run's first note (so a copy in another key is a copy)."""
    keys: list[int] = []
    for melody in melodies:
        notes = [(p, round((e - s) * 4)) for s, e, p in sorted(melody.notes)]
        for i in range(len(notes) - COPY_N + 1):
            run = notes[i : i + COPY_N]
            keys.append(hash(tuple((p - run[0][0], n) for p, n in run)))
    return np.array(keys, dtype=np.int64)


def composed(model_path: Path, num: int, seed: int, length: int) -> tuple[list[Any], list]:
    model = read_model(model_path)
    codec = codec_from_spec(model.task.get("codec"), model.task)
    tokens = model.generator().sample(num, length, [], 1.0, seed, independent=True,
                                      first_choices=codec.first_choices(),
                                      stop_token=codec.end_token())
    rows = []
    for row in tokens.tolist():
        end = codec.end_token()
        rows.append(row[: row.index(end) + 1] if end is not None and end in row else row)
    return [codec.decode(r) for r in rows], rows


def figures(melodies: list[Any], rows: list[list[int]], train: np.ndarray,
            lost: float | None) -> dict[str, float]:
    out = melody_statistics(melodies, whole_tunes=True)
    out["bars"] = float(np.mean([m.length / m.bar_length() for m in melodies]))
    keys = grams(melodies)
    out["copied_8grams"] = float(np.isin(keys, train).mean()) if len(keys) else 0.0
    out["notes_lost"] = lost if lost is not None else float("nan")
    return out


def paper_rows(table: dict[str, dict[str, float]], test: list[Path], num: int) -> None:
    """The paper representation: real test tunes sampled every 0.4 s and the shipped model's
    tunes (168 steps, the corpus's mean tune length), one step = 0.8 quarter at 120 qpm."""
    from dataclasses import replace

    from seqgan_music.app.compose import pretrained_model
    from seqgan_music.music.codecs import PaperCodec

    codec = PaperCodec()

    def scaled(melody: Any) -> Any:
        return replace(melody, notes=[(s * 0.8, e * 0.8, p) for s, e, p in melody.notes],
                       end=(melody.end or 0.0) * 0.8, ended=True)

    encoded = [codec.encode(midi_melody(p)) for p in test]
    lost = 1 - sum(e.kept for e in encoded) / sum(e.notes for e in encoded)
    table["real held-out tunes on the paper grid"] = figures(
        [scaled(codec.decode(e.tokens)) for e in encoded], [], np.zeros(0, np.int64), lost)
    model = read_model(pretrained_model())
    tokens = model.generator().sample(num, 168, [], 1.0, 1, independent=True)
    melodies = [scaled(codec.decode(row)) for row in tokens.tolist()]
    table["shipped nottingham-paper (SeqGAN)"] = figures(melodies, [], np.zeros(0, np.int64),
                                                         None)
    for row in list(table.values())[-2:]:
        row["copied_8grams"] = float("nan")
        row["ended"] = float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--paper", action="store_true",
                        help="add the shipped paper model and the real tunes on its grid")
    args = parser.parse_args()
    started = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    groups: dict[str, list[dict[str, float]]] = {}  # "SeqGAN, onset": one row per run
    real_done = False
    for index, run in enumerate(args.runs, 1):
        model = read_model(run / "checkpoints" / "mle.pt")  # its task spec names the corpus
        codec = codec_from_spec(model.task.get("codec"), model.task)
        if not model.task.get("manifest"):
            raise SystemExit(f"{run}: no corpus manifest recorded")
        manifest = json.loads(Path(model.task["manifest"]).joinpath("manifest.json").read_text())
        split = {s: [args.data / n for n in names] for s, names in manifest["split_tunes"].items()}
        train = np.unique(grams([codec.decode(codec.encode(midi_melody(p)).tokens)
                                 for p in split["train"]]))
        if not real_done:
            encoded = [codec.encode(midi_melody(p)) for p in split["test"]]
            rows = [e.tokens.tolist() for e in encoded]
            lost = 1 - sum(e.kept for e in encoded) / sum(e.notes for e in encoded)
            table[f"real held-out tunes ({len(rows)})"] = figures(
                [codec.decode(r) for r in rows], rows, train, lost)
            real_done = True
        for label, path in (("MLE", run / "checkpoints" / "mle.pt"), ("SeqGAN", run)):
            melodies, rows = composed(path, args.n, index, args.length)
            row = figures(melodies, rows, train, None)
            table[f"{label}, {run.name}"] = row
            groups.setdefault(f"{label}, {codec.name}", []).append(row)
        if args.paper and index == 1:
            paper_rows(table, split["test"], args.n)
    print(f"{len(args.runs)} run(s), {args.n} tunes per model, "
          f"{time.perf_counter() - started:.0f} s")
    print("| model | " + " | ".join(LABELS) + " |")
    print("|---" * (len(LABELS) + 1) + "|")
    for name, row in table.items():
        cells = [("" if np.isnan(row[c]) else f"{row[c]:.3g}") for c in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    real = next(row for name, row in table.items() if name.startswith("real held-out"))
    print("\nMeans over runs (sd); * = within 10% of the real tunes' figure")
    print("| model | runs | " + " | ".join(LABELS) + " |")
    print("|---" * (len(LABELS) + 2) + "|")
    summary: dict[str, Any] = {}
    for name, rows in groups.items():
        cells = []
        for c in COLUMNS:
            values = np.array([r[c] for r in rows], dtype=float)
            mean, sd = float(np.mean(values)), float(np.std(values))
            summary.setdefault(name, {})[c] = {"mean": mean, "sd": sd}
            if np.isnan(mean):
                cells.append("")
                continue
            close = not np.isnan(real[c]) and abs(mean - real[c]) <= 0.1 * abs(real[c])
            cells.append(f"{mean:.3g}" + (f" ({sd:.2g})" if len(rows) > 1 else "")
                         + ("*" if close else ""))
        print(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": table, "means": summary}, indent=1))


if __name__ == "__main__":
    main()

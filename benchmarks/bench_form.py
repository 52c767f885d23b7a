"""The form table (issue 19): composed tunes of models beside real held-out tunes and a
Kneser-Ney 5-gram on the same tokens, on the figures of `seqgan_music.music.form_metrics`.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_form.py \\
        --data /work/shared/data/nottingham --model nottingham-onset [--run RUN ...] \\
        [-n 100] [--seeds 1 2 3] [--oneill] [--json out.json]

- real held-out: the test + valid tunes of our seeded split (`corpus.split_tunes`, split seed 0,
  as `train nottingham --preset onset` splits them), read from the MIDI files through the
  `onset` codec (a sixteenth grid, what the models see), as played.
- each `--model` (a shipped name or a model file) and each `--run` (its `checkpoints/mle.pt`
  as "MLE" and its final model as "SeqGAN"): `n` tunes per seed through `compose.compose`
  (plain compose: whole tunes, ended by the model or cut at the codec's default length),
  decoded by the model's codec; written repeats (a `form` codec) are expanded as played.
- 5-gram: interpolated Kneser-Ney (`music.ngram`) trained on the training split's tokens of the
  first model's codec, `n` tunes per seed sampled until the end token or the codec's default
  length.
- with a first model of another codec than `onset` (e.g. `form`, which reads the ABC sources
  with their written repeats), that codec's own held-out split as played is a second real row;
  copies are counted against each codec's own training split.
- `--oneill`: music21's O'Neill's 1850 tunes (the folk task's test + valid split) as a second
  real set, through the `onset` codec.

Rows with several seeds show the mean over seeds (and the sd in the JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from seqgan_music.music.codecs import Codec, make_codec
from seqgan_music.music.form_metrics import FIGURES, copy_index, form_statistics, tune_record
from seqgan_music.music.melody import Melody

COLUMNS = ("repeated_bars", "repeated_4bar", "repeated_8bar", "aabb", "wrong_length_bars",
           "syncopated", "syncopated_grid", "ends_on_tonic", "bars_median", "bars_mean",
           "bars_min", "under_8_bars", "ended", "pitch_range", "pc_entropy", "pc_entropy_notes",
           "in_scale", "copied_16", "distinct_openings")
LABELS = dict(FIGURES)


def played(melody: Melody) -> Melody:
    """The melody as played: written repeats expanded (`music.form.expand_form`)."""
    if not melody.form:
        return melody
    from seqgan_music.music.form import expand_form  # type: ignore[import-not-found,unused-ignore]

    return expand_form(melody)  # type: ignore[no-any-return]


def task_tunes(task_name: str, data: Path | None, representation: str,
               options: dict[str, Any] | None = None) -> dict[str, list[tuple[str, list[int]]]]:
    """Each split's (name, tokens) of a music task's corpus in `representation`: the files
    the task locates, read (through the reader cache) and split exactly as training does."""
    from seqgan_music.io.downloads import cache_dir
    from seqgan_music.music.corpus import (
        MusicOptions,
        _cached_read,
        find_music_files,
        split_tunes,
    )
    from seqgan_music.music.readers import UnusableFile
    from seqgan_music.tasks import load_task

    task = load_task(task_name)
    task_options = {**(options or {}), "representation": representation}
    music = MusicOptions.from_options(task_options, task.extra_options)
    roots, _ = task.locate(data, task_options)
    tunes: list[tuple[str, list[int]]] = []
    cache = cache_dir() / "parsed"
    cache.mkdir(parents=True, exist_ok=True)
    codec = make_codec(representation)
    written = bool(getattr(type(codec), "written_form", False))  # e.g. `form`: ABC sources
    for root in roots:
        found, _ = find_music_files(root, written) if written else find_music_files(root)
        base = root if root.is_dir() else root.parent
        prefix = f"{root.name}/" if len(roots) > 1 else ""
        for path in found:
            try:
                read, _ = _cached_read(path, music.step, music.melody, cache, representation)
            except UnusableFile:
                continue
            rel = prefix + path.relative_to(base).as_posix()
            for tune in read:
                name = tune.name if "#" in tune.name else rel
                if "#" in tune.name:
                    name = rel + tune.name[tune.name.index("#"):]
                tunes.append((name, [int(t) for t in tune.tokens]))
    usable = [t for t in tunes if codec.window_count(np.asarray(t[1]), 64) > 0]
    splits = split_tunes([name for name, _ in usable], music)
    return {s: [usable[i] for i in index] for s, index in splits.items()}


def decoded(codec: Codec, rows: list[list[int]]) -> list[Melody]:
    return [played(codec.decode(row)) for row in rows]


def compose_tunes(model: Path | str, num: int, seed: int) -> tuple[list[Melody], Codec]:
    """`num` tunes of a model through the library function `compose` uses."""
    from seqgan_music.app.compose import ComposeOptions, compose, resolve_model
    from seqgan_music.app.inference import read_model
    from seqgan_music.music.codecs import codec_from_spec

    with tempfile.TemporaryDirectory() as folder:
        options = ComposeOptions(out=Path(folder) / "tune.mid", model=Path(model), num=num,
                                 seed=seed)
        result = compose(options)
        path, _ = resolve_model(options)
    spec = read_model(path).task
    codec = codec_from_spec(spec.get("codec"), spec)
    return decoded(codec, result.tunes), codec


def model_codec(model: Path | str) -> Codec:
    from seqgan_music.app.compose import ComposeOptions, resolve_model
    from seqgan_music.app.inference import read_model
    from seqgan_music.music.codecs import codec_from_spec

    path, _ = resolve_model(ComposeOptions(model=Path(model)))
    spec = read_model(path).task
    return codec_from_spec(spec.get("codec"), spec)


def summarise(rows: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    keys = rows[0].keys()
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    sd = {k: float(np.std([r[k] for r in rows])) for k in keys}
    return mean, sd


def cell(value: float, column: str) -> str:
    if math.isnan(value):
        return ""
    if column.startswith("bars_"):
        return f"{value:.1f}"
    if column in ("pitch_range",):
        return f"{value:.1f}"
    if column.startswith("pc_entropy"):
        return f"{value:.2f}"
    if column == "in_scale":
        return f"{value:.3f}"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="the Nottingham folder")
    parser.add_argument("--model", action="append", default=[],
                        help="a shipped model's name or a model file (repeatable)")
    parser.add_argument("--run", action="append", type=Path, default=[],
                        help="a run directory: its MLE checkpoint and final model (repeatable)")
    parser.add_argument("-n", type=int, default=100, help="tunes per model and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--order", type=int, default=5, help="n-gram order (0: no n-gram row)")
    parser.add_argument("--oneill", action="store_true", help="add music21's O'Neill tunes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    spread: dict[str, dict[str, float]] = {}
    timings: dict[str, float] = {}

    onset = make_codec("onset")
    reference = task_tunes("nottingham", args.data, "onset")
    held = reference["test"] + reference["valid"]
    indices = {"onset": copy_index(decoded(onset, [t for _, t in reference["train"]]))}
    real = decoded(onset, [t for _, t in held])
    per_tune: dict[str, list[dict[str, Any]]] = {}

    def measure(label: str, melodies: list[Melody], index: np.ndarray) -> dict[str, float]:
        """Figures of one set of tunes; the first set of each row is kept tune by tune."""
        per_tune.setdefault(label, [tune_record(m) for m in melodies])
        return form_statistics(melodies, index)

    label = f"real held-out Nottingham ({len(real)})"
    table[label] = measure(label, real, indices["onset"])
    timings["real"] = time.perf_counter() - started
    if args.oneill:
        t0 = time.perf_counter()
        folk = task_tunes("folk", None, "onset", {"corpora": ["oneills1850"]})
        oneill = decoded(onset, [t for _, t in folk["test"] + folk["valid"]])
        label = f"O'Neill 1850 ({len(oneill)})"
        table[label] = measure(label, oneill, indices["onset"])
        timings["oneill"] = time.perf_counter() - t0

    models: list[tuple[str, Path | str]] = [(str(m), m) for m in args.model]
    for run in args.run:
        models += [(f"MLE ({run.name})", run / "checkpoints" / "mle.pt"),
                   (f"SeqGAN ({run.name})", run)]
    first_codec = model_codec(models[0][1]) if models else onset

    def index_for(codec: Codec) -> np.ndarray:
        if codec.name not in indices:
            tunes = task_tunes("nottingham", args.data, codec.name)
            indices[codec.name] = copy_index(decoded(codec, [t for _, t in tunes["train"]]))
            # that codec's own held-out tunes (another split when it reads other sources)
            mine = decoded(codec, [t for _, t in tunes["test"] + tunes["valid"]])
            label = f"real held-out, {codec.name} split ({len(mine)})"
            table[label] = measure(label, mine, indices[codec.name])
        return indices[codec.name]

    index_for(first_codec)

    if args.order:
        from seqgan_music.music.ngram import KneserNey

        t0 = time.perf_counter()
        train = task_tunes("nottingham", args.data, first_codec.name)["train"]
        ngram = KneserNey(first_codec.vocab_size, args.order).fit([t for _, t in train])
        timings["ngram_fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = []
        label = f"{args.order}-gram KN ({first_codec.name} tokens)"
        for seed in args.seeds:
            sampled = ngram.sample(args.n, first_codec.default_length, seed,
                                   first_codec.end_token())
            rows.append(measure(label, decoded(first_codec, sampled), index_for(first_codec)))
        timings["ngram_sample"] = time.perf_counter() - t0
        table[label], spread[label] = summarise(rows)

    for label, model in models:
        t0 = time.perf_counter()
        rows = []
        for seed in args.seeds:
            melodies, codec = compose_tunes(model, args.n, seed)
            rows.append(measure(label, melodies, index_for(codec)))
        timings[label] = time.perf_counter() - t0
        table[label], spread[label] = summarise(rows)

    seeds = " ".join(map(str, args.seeds))
    print(f"{args.n} tunes per model and seed (seeds {seeds}); "
          f"{time.perf_counter() - started:.0f} s")
    print("| | " + " | ".join(table) + " |")
    print("|---" * (len(table) + 1) + "|")
    for column in COLUMNS:
        cells = [cell(row[column], column) for row in table.values()]
        print(f"| {LABELS[column]} | " + " | ".join(cells) + " |")
    print("| tunes of >= 32 bars | " + " | ".join(
        cell(row["tunes_32_bars"], "x") for row in table.values()) + " |")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": table, "sd": spread, "n": args.n,
                                         "seeds": args.seeds, "seconds": timings,
                                         "tunes_of_the_first_seed": per_tune,
                                         "command": " ".join(sys.argv)}, indent=1))


if __name__ == "__main__":
    main()

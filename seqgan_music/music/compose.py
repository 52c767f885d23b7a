"""`seqgan-music compose`: melodies from a trained music model, written as MIDI (and more).

The model is `--model RUN|CHECKPOINT`, else the latest finished `nottingham` run under `runs/`
(one with its final model.safetensors; an interrupted run is never picked), else the
small pretrained Nottingham model shipped in the package (`seqgan_music/pretrained/`, with its
model card). Every output path is checked before anything is sampled or written: an existing
file is only replaced with `force`, and each file is written atomically.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seqgan_music import limits
from seqgan_music.errors import CheckpointError, ConfigError, DataError
from seqgan_music.music.render import DEFAULT_TEMPO, check_render_options
from seqgan_music.runs import check_output

PRETRAINED = "nottingham.safetensors"
MAX_NUM = limits.MAX_COMPOSE_NUM
MAX_LENGTH = limits.MAX_LENGTH


@dataclass
class ComposeOptions:
    out: Path = Path("tune.mid")
    model: Path | None = None
    num: int = 1
    length: int = 32
    temperature: float = 1.0
    seed: int = 0
    primer: Path | None = None
    keep_primer: bool = True
    tempo: float = DEFAULT_TEMPO
    program: int = 0
    wav: bool = False
    plot: bool = False
    musicxml: bool = False
    force: bool = False
    runs: Path = Path("runs")
    tune: int = 1  # which tune of a primer file of several (from 1)


@dataclass
class Primer:
    """A primer's tokens at the model's step, and what the grid and the file did to it."""

    tokens: list[int]
    notes: int = 0  # melody notes in the primer tune
    lost: int = 0  # of those, notes that sound at no step of the grid
    tune: int = 1
    num_tunes: int = 1


@dataclass
class Composed:
    model: str
    files: list[Path] = field(default_factory=list)
    tunes: list[list[int]] = field(default_factory=list)
    primer_steps: int = 0
    synth: str = ""
    replaced: set[Path] = field(default_factory=set)  # outputs that existed before (--force)
    primer: Primer | None = None


def pretrained_model() -> Path:
    path = Path(str(resources.files("seqgan_music").joinpath("pretrained").joinpath(PRETRAINED)))
    if not path.is_file():
        raise CheckpointError("the shipped pretrained model is missing from this installation; "
                              "train one with `seqgan-music train nottingham` or pass --model")
    return path


def output_paths(options: ComposeOptions) -> list[dict[str, Path]]:
    """Per tune: the MIDI path and the extra files asked for (numbered when num > 1)."""
    out = options.out
    if out.suffix.lower() not in (".mid", ".midi"):
        raise ConfigError(f"--out {out} must end in .mid or .midi")
    width = len(str(options.num))
    tunes = []
    for index in range(1, options.num + 1):
        midi = out if options.num == 1 else out.with_name(f"{out.stem}-{index:0{width}d}"
                                                           f"{out.suffix}")
        paths = {"midi": midi}
        if options.wav:
            paths["wav"] = midi.with_suffix(".wav")
        if options.plot:
            paths["plot"] = midi.with_suffix(".png")
        if options.musicxml:
            paths["musicxml"] = midi.with_suffix(".musicxml")
        tunes.append(paths)
    return tunes


def check_options(options: ComposeOptions) -> list[dict[str, Path]]:
    limits.check_count(options.num, "--num", MAX_NUM, unit="tunes")
    limits.check_count(options.length, "--length", MAX_LENGTH, unit="steps")
    steps = options.num * options.length
    if steps > limits.MAX_COMPOSE_STEPS:
        raise ConfigError(f"--num {options.num} x --length {options.length} = {steps:,} steps is "
                          f"too much for one call: at most {limits.MAX_COMPOSE_STEPS:,} steps "
                          "(about a minute of work); compose fewer or shorter tunes per call")
    limits.check_temperature(options.temperature)
    limits.check_seed(options.seed)
    check_render_options(options.tempo, options.program)
    if options.model is not None and not options.model.exists():
        raise CheckpointError(f"--model {options.model} does not exist; pass a run directory "
                              "or a checkpoint file")
    if options.tune < 1:
        raise ConfigError(f"--tune = {options.tune} is invalid; expected 1 or more (the tune's "
                          "number in the primer file, from 1)")
    if options.primer is not None and not options.primer.is_file():
        raise DataError(f"--primer {options.primer} does not exist; pass a .mid, .midi or "
                        ".abc file")
    paths = output_paths(options)
    for path in {p for tune in paths for p in tune.values()}:
        check_output(path, force=True)  # a directory in the way, an unwritable folder
    if not options.force:
        existing = [p for tune in paths for p in tune.values() if p.exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise ConfigError(f"output {existing[0]} exists{more}; pass --force to overwrite")
    for tune in paths:
        folder = tune["midi"].parent
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--out folder {folder} is a file")
    return paths


def resolve_model(options: ComposeOptions) -> tuple[Path, str]:
    """The model file or run to load, and how it is described to the user."""
    from seqgan_music.runs import latest_run

    if options.model is not None:
        return options.model, str(options.model)
    latest = latest_run(options.runs, "nottingham", finished=True)
    if latest is not None:
        return latest, f"{latest} (the latest finished nottingham run)"
    unfinished = latest_run(options.runs, "nottingham")
    why = (f" (no finished nottingham run in {options.runs}; {unfinished} is unfinished)"
           if unfinished is not None else "")
    return (pretrained_model(),
            f"the pretrained Nottingham model shipped with seqgan-music{why}")


def read_primer(path: Path, spec: dict[str, Any], tune: int = 1) -> Primer:
    """Tune `tune` (from 1) of a MIDI/ABC file as tokens at the model's sampling step; only
    that tune of an ABC file is parsed. Warns (`DataWarning`) when notes fall between steps."""
    import warnings

    from seqgan_music.errors import DataWarning
    from seqgan_music.music.corpus import MUSIC_SUFFIXES
    from seqgan_music.music.readers import (
        UnusableFile,
        lost_notes,
        midi_melody_notes,
        read_abc_tune,
        sample_melody,
    )

    suffix = path.suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise DataError(f"--primer {path} is not a MIDI or ABC file; accepted: "
                        f"{', '.join(MUSIC_SUFFIXES)}")
    step, melody = float(spec.get("step", 0.4)), str(spec.get("melody", "auto"))
    end: float | None = None
    try:
        if suffix == ".abc":
            notes, num_tunes = read_abc_tune(path, tune, melody)
        else:
            if tune != 1:
                raise DataError(f"--tune {tune} is invalid for {path}: a MIDI file holds one "
                                "tune (--tune 1)")
            (notes, end), num_tunes = midi_melody_notes(path, melody), 1
        tokens = sample_melody(notes, step, end)
    except UnusableFile as error:
        raise DataError(f"--primer {path} holds no usable melody: {error}") from None
    except IndexError as error:
        raise DataError(f"--tune {tune} is invalid: {path} holds {error.args[0]} tune(s)"
                        ) from None
    if len(tokens) == 0:
        raise DataError(f"--primer {path} holds no usable melody")
    if len(tokens) > limits.MAX_PRIMER_STEPS:
        seconds = len(tokens) * step
        raise DataError(f"--primer {path} is {len(tokens):,} steps long ({seconds:.0f} s; a note "
                        "held for hours?); a primer may be at most "
                        f"{limits.MAX_PRIMER_STEPS:,} steps: cut the file to the opening bars")
    primer = Primer([int(t) for t in tokens], len(notes), lost_notes(notes, tokens, step),
                    tune, num_tunes)
    if primer.lost:
        warnings.warn(f"the primer loses {primer.lost} of its {primer.notes} notes to the "
                      f"model's {step:g} s grid (notes shorter than a step, or under a higher "
                      "note); the tune continues what is left", DataWarning, stacklevel=2)
    return primer


def compose(options: ComposeOptions, reporter: Any = None) -> Composed:
    """Sample the tunes and write every requested file; see the module docstring.

    `reporter` (a `training.Reporter`) is told of the phases "sample" (one step per token) and
    "write" (one step per tune). Each file is written atomically, and a failure midway (disk
    full, Ctrl-C) removes the files this call had newly written, so a failed compose leaves no
    partial set of tunes behind.
    """
    result = Composed("")
    try:
        return _compose(options, result, reporter)
    except BaseException:
        for path in result.files:
            if path not in result.replaced:
                with suppress(OSError):
                    path.unlink(missing_ok=True)
        raise


def _compose(options: ComposeOptions, result: Composed, reporter: Any) -> Composed:
    from seqgan_music.inference import read_model
    from seqgan_music.music.render import (
        tokens_to_midi,
        write_midi,
        write_musicxml,
        write_plot,
        write_wav,
    )

    paths = check_options(options)
    result.replaced = {p for tune in paths for p in tune.values() if p.exists()}
    model_path, described = resolve_model(options)
    model = read_model(model_path)
    if not model.task.get("music"):
        raise CheckpointError(f"model {model_path} was trained on the {model.config.get('task')} "
                              "task; compose needs a music model (nottingham, folk or midi)")
    read = (read_primer(options.primer, model.task, options.tune)
            if options.primer is not None else None)
    primer = read.tokens if read is not None else []
    step = None
    if reporter is not None:
        reporter.phase("sample", options.length, 0)

        def step(done: int) -> None:
            reporter.advance("sample", {})

    tokens = model.generator().sample(options.num, options.length, primer, options.temperature,
                                      options.seed, progress=step)
    result.model, result.primer_steps = described, len(primer) if options.keep_primer else 0
    result.primer = read
    if reporter is not None:
        reporter.phase("write", options.num, 0)
    for row, tune_paths in zip(tokens.tolist(), paths, strict=True):
        tune = (primer + row) if options.keep_primer else row
        result.tunes.append(tune)
        midi = tokens_to_midi([tune], options.tempo, options.program)
        result.files.append(write_midi(midi, tune_paths["midi"]))
        if "wav" in tune_paths:
            result.synth = write_wav(midi, tune_paths["wav"])
            result.files.append(tune_paths["wav"])
        if "plot" in tune_paths:
            title = f"{tune_paths['midi'].name} (seed {options.seed})"
            result.files.append(write_plot(tune, tune_paths["plot"], title, result.primer_steps))
        if "musicxml" in tune_paths:
            result.files.append(write_musicxml(tune, tune_paths["musicxml"], options.tempo,
                                               tune_paths["midi"].stem))
        if reporter is not None:
            reporter.advance("write", {})
    return result

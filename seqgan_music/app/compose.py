"""`seqgan-music compose`: melodies from a trained music model, written as MIDI (and more).

The model is `--model RUN|CHECKPOINT|MODEL_DIR|NAME` (a shipped model's name, or `latest`: the
latest finished `nottingham` run under `--runs`, never an interrupted one), else the default
model shipped in the package (`seqgan_music/pretrained/`, with its model card). A run trained a
minute ago is never picked implicitly: plain `compose` always plays the shipped model. Every
output path is checked before anything is sampled or written: an existing file is only
replaced with `force`, and each file is written atomically. With no `out`, nothing is written
(the Python API, `seqgan_music.compose`, takes the tunes from `Composed`).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seqgan_music import limits
from seqgan_music.errors import CheckpointError, ConfigError, DataError
from seqgan_music.io.runs import check_output
from seqgan_music.music.render import ACCOMPANIMENT_PROGRAM, DEFAULT_TEMPO, check_render_options

PRETRAINED = "nottingham.safetensors"
LATEST = "latest"  # --model latest: the latest finished nottingham run under --runs
MAX_NUM = limits.MAX_COMPOSE_NUM
MAX_LENGTH = limits.MAX_LENGTH


@dataclass
class ComposeOptions:
    out: Path | None = Path("tune.mid")  # None: write no file (the Python API's tunes)
    model: Path | None = None
    num: int = 1
    length: int | None = None  # steps; None: the model's representation's default (paper 32)
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
    primer_notes: str | None = None  # inline primer, e.g. "D4 - E4 F#4 | G4" (codec's syntax)
    key: str | None = None  # e.g. "G", "D major", "Em"; None: recorded/estimated
    meter: str | None = None  # e.g. "6/8"; None: what the model (or the primer) starts with
    soundfont: Path | None = None  # for --wav; None: searched in the usual places
    abc: bool = False  # also write the tune as ABC (--out x.abc writes ABC alone)
    svg: bool = False  # also engrave the score as SVG (verovio)
    chords: bool = True  # harmonise the tune: chord symbols and an accompaniment track
    accompaniment_program: int = ACCOMPANIMENT_PROGRAM  # GM program of the accompaniment
    bars: int | None = None  # bars as played (form models); None: the model ends the tune
    form: str | None = None  # strains, e.g. "AABB" (form models)


@dataclass
class Primer:
    """A primer's tokens at the model's step, and what the grid and the file did to it."""

    tokens: list[int]
    notes: int = 0  # melody notes in the primer tune
    lost: int = 0  # of those, notes that sound at no step of the grid
    tune: int = 1
    num_tunes: int = 1
    key: tuple[int, str] | None = None  # the primer's key (a transposing codec writes it back)


@dataclass
class Composed:
    model: str
    files: list[Path] = field(default_factory=list)
    tunes: list[list[int]] = field(default_factory=list)
    primer_steps: int = 0
    primer_quarters: float = 0.0  # how long the kept primer lasts, in quarter notes
    primer_written: float = 0.0  # where it ends in the written MIDI (after a pick-up's lead-in)
    synth: str = ""
    replaced: set[Path] = field(default_factory=set)  # outputs that existed before (--force)
    primer: Primer | None = None
    representation: str = "paper"
    keys: list[str] = field(default_factory=list)  # each tune's key as written
    meters: list[str] = field(default_factory=list)  # each tune's meter as written
    ended: list[bool] = field(default_factory=list)  # whether the model ended each tune
    melodies: list[Any] = field(default_factory=list)  # each tune as a codecs.Melody, as written
    midis: list[Any] = field(default_factory=list)  # each tune as a pretty_midi.PrettyMIDI


def pretrained_model() -> Path:
    """The shipped paper model's file (kept at its old path; the zoo calls it
    nottingham-paper)."""
    path = Path(str(resources.files("seqgan_music").joinpath("pretrained").joinpath(PRETRAINED)))
    if not path.is_file():
        raise CheckpointError("the shipped pretrained model is missing from this installation; "
                              "train one with `seqgan-music train nottingham` or pass --model")
    return path


def output_paths(options: ComposeOptions) -> list[dict[str, Path]]:
    """Per tune: the main file (MIDI, or ABC for an --out ending in .abc) and the extra files
    asked for (numbered when num > 1); no paths when `options.out` is None."""
    out = options.out
    if out is None:
        return [{} for _ in range(options.num)]
    if out.suffix.lower() not in (".mid", ".midi", ".abc"):
        raise ConfigError(f"--out {out} must end in .mid, .midi or .abc")
    width = len(str(options.num))
    tunes = []
    for index in range(1, options.num + 1):
        main = out if options.num == 1 else out.with_name(f"{out.stem}-{index:0{width}d}"
                                                           f"{out.suffix}")
        midi = main.with_suffix(".mid") if main.suffix.lower() == ".abc" else main
        paths = {"abc": main} if main.suffix.lower() == ".abc" else {"midi": main}
        if options.abc:
            paths["abc"] = midi.with_suffix(".abc")
        if options.svg:
            paths["svg"] = midi.with_suffix(".svg")
        if options.wav:
            paths["wav"] = midi.with_suffix(".wav")
        if options.plot:
            paths["plot"] = midi.with_suffix(".png")
        if options.musicxml:
            paths["musicxml"] = midi.with_suffix(".musicxml")
        tunes.append(paths)
    return tunes


def check_options(options: ComposeOptions) -> list[dict[str, Path]]:
    from seqgan_music.music.codecs import BUILTIN_CODECS
    from seqgan_music.music.keys import parse_key, parse_meter

    limits.check_count(options.num, "--num", MAX_NUM, unit="tunes")
    # the model is not read yet: budget for the longest default of the built-in codecs
    length = (options.length if options.length is not None
              else max(c.default_length for c in BUILTIN_CODECS.values()))
    limits.check_count(length, "--length", MAX_LENGTH, unit="steps")
    if options.key is not None:
        parse_key(options.key)
    if options.meter is not None:
        parse_meter(options.meter)
    if options.bars is not None:
        limits.check_count(options.bars, "--bars", 512, unit="bars")
    if options.form is not None:
        from seqgan_music.music.constraint import parse_form

        parse_form(options.form)
    if options.primer is not None and options.primer_notes is not None:
        raise ConfigError("pass either a primer file or inline primer notes, not both")
    steps = options.num * length
    if steps > limits.MAX_COMPOSE_STEPS:
        raise ConfigError(f"--num {options.num} x --length {options.length} = {steps:,} steps is "
                          f"too much for one call: at most {limits.MAX_COMPOSE_STEPS:,} steps "
                          "(about a minute of work); compose fewer or shorter tunes per call")
    limits.check_temperature(options.temperature)
    limits.check_seed(options.seed)
    check_render_options(options.tempo, options.program)
    check_render_options(options.tempo, options.accompaniment_program,
                         option="--accompaniment-program")
    if options.model is not None and not options.model.exists() and str(options.model) != LATEST:
        from seqgan_music.music.zoo import find_shipped, shipped_models

        if "/" in str(options.model) or "\\" in str(options.model) or not shipped_models():
            raise CheckpointError(f"--model {options.model} does not exist; pass a run "
                                  "directory, a checkpoint file or a shipped model's name "
                                  "(seqgan-music models)")
        find_shipped(str(options.model))
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
        if not tune:
            continue
        folder = next(iter(tune.values())).parent
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"--out folder {folder} is a file")
    return paths


def resolve_model(options: ComposeOptions) -> tuple[Path, str]:
    """The model file or run to load, and how it is described to the user."""
    from seqgan_music.io.runs import latest_run
    from seqgan_music.music.zoo import default_model, find_shipped

    if options.model is not None and str(options.model) == LATEST and not options.model.exists():
        latest = latest_run(options.runs, "nottingham", finished=True)
        if latest is None:
            unfinished = latest_run(options.runs, "nottingham")
            why = f" ({unfinished} is unfinished)" if unfinished is not None else ""
            raise CheckpointError(f"--model latest: no finished nottingham run in "
                                  f"{options.runs}{why}; pass --runs DIR or a run directory")
        return latest, f"{latest} (the latest finished nottingham run)"
    if options.model is not None:
        if not options.model.exists():
            shipped = find_shipped(str(options.model))
            return shipped.path, f"the pretrained model {shipped.name} shipped with seqgan-music"
        return options.model, str(options.model)
    shipped = default_model()
    return (shipped.path, f"the pretrained model {shipped.name} shipped with seqgan-music "
                          "(--model RUN_DIR, --model latest or a name from `seqgan-music "
                          "models` picks another)")


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

    `reporter` (a `trainer.loop.Reporter`) is told of the phases "sample" (one step per token) and
    "write" (one step per tune). Each file is written atomically, and a failure midway (disk
    full, Ctrl-C) removes the files this call had newly written, so a failed compose leaves no
    partial set of tunes behind.
    """
    from contextlib import nullcontext

    from seqgan_music.io.safe_io import output_lock

    result = Composed("")
    try:
        # the output set is checked and written under a lock on its folder: two composes
        # into one folder never overwrite each other's tunes (issue 23)
        with (output_lock(options.out.parent, "--out folder") if options.out is not None
              else nullcontext()):
            return _compose(options, result, reporter)
    except BaseException:
        for path in result.files:
            if path not in result.replaced:
                with suppress(OSError):
                    path.unlink(missing_ok=True)
        raise


def read_codec_primer(path: Path, codec: Any, melody: str = "auto", tune: int = 1) -> Primer:
    """Tune `tune` of a MIDI/ABC file through a codec other than `paper` (meter, bar lines and
    key kept); warns when notes are lost to the grid."""
    import warnings

    from seqgan_music.errors import DataWarning
    from seqgan_music.music.corpus import MUSIC_SUFFIXES
    from seqgan_music.music.readers import UnusableFile, _abc_tunes, abc_melody, midi_melody

    suffix = path.suffix.lower()
    if suffix not in MUSIC_SUFFIXES:
        raise DataError(f"--primer {path} is not a MIDI or ABC file; accepted: "
                        f"{', '.join(MUSIC_SUFFIXES)}")
    num_tunes = 1
    try:
        if suffix == ".abc":
            header, texts = _abc_tunes(path)
            num_tunes = len(texts)
            if not 1 <= tune <= num_tunes:
                raise DataError(f"--tune {tune} is invalid: {path} holds {num_tunes} tune(s)")
            source = abc_melody(header + texts[tune - 1], melody)
        else:
            if tune != 1:
                raise DataError(f"--tune {tune} is invalid for {path}: a MIDI file holds one "
                                "tune (--tune 1)")
            source = midi_melody(path, melody)
        encoded = codec.encode(source)
    except UnusableFile as error:
        raise DataError(f"--primer {path} holds no usable melody: {error}") from None
    tokens = codec.primer_tokens(encoded)
    if len(tokens) > limits.MAX_PRIMER_STEPS:
        raise DataError(f"--primer {path} is {len(tokens):,} steps long; a primer may be at most "
                        f"{limits.MAX_PRIMER_STEPS:,} steps: cut the file to the opening bars")
    primer = Primer(tokens, encoded.notes, encoded.notes - encoded.kept, tune, num_tunes,
                    encoded.key)
    if primer.lost:
        warnings.warn(f"the primer loses {primer.lost} of its {primer.notes} notes to the "
                      f"model's grid ({codec.grid}); the tune continues what is left",
                      DataWarning, stacklevel=2)
    return primer


def written_key(melody: Any, codec: Any, key: str | None,
                anchor: tuple[int, str] | None = None) -> tuple[Any, tuple[int, str]]:
    """The melody moved to the key it is written in, and that key (with its mode).

    Onset tunes are made in C's signature (C major, A minor, D dorian, G mixolydian...).
    `anchor` is the key a primer was read in (it was moved to C by that key's signature): the
    tune goes back by the same interval, so the primer sounds as given and keeps its mode. Else
    `--key` names the key to write: its tonic, and its mode when it names one (`Dmix`, `E
    dorian`, `Gm`): a tune the model made in another mode is moved degree by degree into it
    (`keys.move_to_mode`); a key without a mode (`D`) keeps the tune's own. Else G major / E
    minor (the Nottingham tunes' most common keys; A dorian, D mixolydian for modal tunes).
    Paper tunes keep their pitches unless `--key` asks to move them.
    """
    from dataclasses import replace

    from seqgan_music.music.keys import (
        estimate_key,
        estimate_mode,
        move_to_mode,
        names_mode,
        parse_key,
        shift_to_c,
    )

    transposed = codec.name != "paper" and getattr(codec, "transpose", False)
    if transposed and anchor is not None:
        shift, target = -shift_to_c(anchor), anchor
        notes = [(s, e, p + shift) for s, e, p in melody.notes]
    else:
        if transposed:  # C's signature; major or minor by its profile, a mode by its end
            major = _prefers_major(melody.notes)
            base = (0, "major") if major else (9, "minor")
            # an ended tune's last note names its mode when the mode agrees with the profile
            # (dorian is a minor mode, mixolydian a major one); a tune cut at --length has none
            modes = ("major", "mixolydian") if major else ("minor", "dorian")
            source = estimate_mode(melody.notes, base, modes) if melody.ended else base
        else:
            source = estimate_mode(melody.notes, estimate_key(melody.notes))
        if key is None:
            if not transposed:
                return replace(melody, key=source), source
            target = ((source[0] + 7) % 12, source[1])  # C's signature -> G's
        else:
            target = parse_key(key)
            if not names_mode(key):
                target = (target[0], source[1])
        notes = move_to_mode(melody.notes, source, target)
    notes = [(s, e, min(max(p, 21), 108)) for s, e, p in notes]
    return replace(melody, notes=notes, key=target), target


def _prefers_major(notes: Any) -> bool:
    import numpy as np

    from seqgan_music.music.keys import MAJOR_PROFILE, MINOR_PROFILE

    weights = np.zeros(12)
    for start, end, pitch in notes:
        weights[pitch % 12] += max(end - start, 1e-3)
    if not weights.any():
        return True
    major = float(np.corrcoef(weights, MAJOR_PROFILE)[0, 1])
    minor = float(np.corrcoef(weights, np.roll(MINOR_PROFILE, 9))[0, 1])
    return major >= minor


def _compose(options: ComposeOptions, result: Composed, reporter: Any) -> Composed:
    from dataclasses import replace

    from seqgan_music.app.inference import read_model
    from seqgan_music.music.codecs import codec_from_spec
    from seqgan_music.music.keys import key_name, parse_meter
    from seqgan_music.music.render import (
        melodies_to_midi,
        tokens_to_midi,
        write_melody_musicxml,
        write_melody_plot,
        write_midi,
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
    codec = codec_from_spec(model.task.get("codec"), model.task)
    if codec.vocab_size != model.vocab_size:
        raise CheckpointError(f"model {model_path} has {model.vocab_size} tokens but its "
                              f"representation {codec.name!r} has {codec.vocab_size}")
    result.representation = codec.name
    meter = parse_meter(options.meter) if options.meter is not None else None
    length = options.length if options.length is not None else codec.default_length
    make_constraint = getattr(codec, "constraint", None)
    constraint = None
    if make_constraint is not None:
        if options.length is None and options.bars is not None and options.bars > 32:
            # room for the bars asked for, written once each (24 sixteenths in 12/8)
            length = min(max(length, options.bars * 26 + 32), MAX_LENGTH)
        constraint = make_constraint(bars=options.bars, form=options.form, limit=length)
    elif options.bars is not None or options.form is not None:
        raise ConfigError(f"--bars and --form need a model with the written form (the form "
                          f"representation); {model_path} uses {codec.name!r}")
    if options.primer is not None:
        read = (read_primer(options.primer, model.task, options.tune) if codec.name == "paper"
                else read_codec_primer(options.primer, codec, str(model.task.get("melody",
                                                                                 "auto")),
                                       options.tune))
    elif options.primer_notes is not None:
        from seqgan_music.music.keys import parse_key

        given = parse_key(options.key) if options.key is not None else None
        primer_key = given or codec.primer_key(options.primer_notes)
        read = Primer(codec.parse_primer(options.primer_notes, primer_key), notes=0,
                      key=primer_key)
    else:
        read = None
    primer = read.tokens if read is not None else []
    first_choices = None
    if codec.name != "paper":
        starts = set(codec.first_choices() or [])
        if primer and primer[0] in starts | {getattr(codec, "START_OTHER", -1)}:
            if meter is not None:  # --meter overrides the primer file's own
                primer = codec.prefix(meter) + primer[1:]
        elif meter is not None or primer:
            primer = codec.prefix(meter or (4, 4)) + primer
        else:
            first_choices = codec.first_choices()
    if constraint is not None and make_constraint is not None and primer:
        # A continuation: the token limit and the cap on played bars count what comes after the
        # primer, so that a whole tune given as primer (the studio's "Continue this tune") gets
        # new strains instead of closing at once.
        extra: dict[str, Any] = {}
        if options.bars is None and options.form is None:
            from seqgan_music.music.form import expand_form

            played = expand_form(codec.decode(primer))
            primer_bars = int(played.length / played.bar_length())
            extra["max_bars"] = min(32 + primer_bars, 512)
        constraint = make_constraint(bars=options.bars, form=options.form,
                                     limit=len(primer) + length, **extra)
    step = None
    if reporter is not None:
        reporter.phase("sample", length, 0)

        def step(done: int) -> None:
            reporter.advance("sample", {})

    sampled = model.generator().sample(options.num, length, primer, options.temperature,
                                      options.seed, progress=step, independent=True,
                                      first_choices=first_choices,
                                      stop_token=codec.end_token(), constraint=constraint)
    result.model, result.primer_steps = described, len(primer) if options.keep_primer else 0
    result.primer = read
    if result.primer_steps:
        result.primer_quarters = (float(result.primer_steps) if codec.name == "paper"
                                  else codec.decode(primer).length)
    if reporter is not None:
        reporter.phase("write", options.num, 0)
    for row, tune_paths in zip(sampled.tolist(), paths, strict=True):
        tune = (primer + row) if options.keep_primer else row
        if codec.name != "paper" and not options.keep_primer and primer:
            tune = primer[:1] + row  # the start token (the meter) stays
        end = codec.end_token()
        if end is not None and end in tune:
            tune = tune[: tune.index(end) + 1]
        result.tunes.append(tune)
        melody = codec.decode(tune)
        if meter is not None:
            melody = replace(melody, meter=meter)
        anchor = read.key if read is not None and (options.primer is not None
                                                  or options.key is None) else None
        if read is not None and options.primer_notes is not None and options.key is not None:
            anchor = read.key  # the inline notes were read in --key
        melody, key = written_key(melody, codec, options.key, anchor)
        result.keys.append(key_name(key))
        result.meters.append(f"{melody.meter[0]}/{melody.meter[1]}")
        result.ended.append(bool(melody.ended))
        plain = codec.name == "paper" and options.key is None and options.meter is None
        if result.primer_quarters and not result.primer_written:
            result.primer_written = result.primer_quarters + (
                0.0 if plain else melody.lead_in())
        if options.chords and codec.name != "paper" and not melody.chords and melody.notes:
            from seqgan_music.music.harmony import harmonise

            melody = replace(melody, chords=harmonise(melody))  # at the written positions
        played = melody
        if melody.form:  # MIDI and WAV play the repeats; MusicXML keeps the signs
            from seqgan_music.music.form import expand_form

            played = expand_form(melody)
        accompaniment = (options.accompaniment_program if options.chords and melody.chords
                         else None)
        midi = (tokens_to_midi([tune], options.tempo, options.program) if plain
                else melodies_to_midi([played], options.tempo, options.program,
                                      accompaniment=accompaniment))
        result.melodies.append(melody)
        result.midis.append(midi)
        if not tune_paths:  # the API's tunes: nothing to write
            continue
        stem = next(iter(tune_paths.values())).stem
        if "midi" in tune_paths:
            result.files.append(write_midi(midi, tune_paths["midi"]))
        if "wav" in tune_paths:
            result.synth = write_wav(midi, tune_paths["wav"], soundfont=options.soundfont)
            result.files.append(tune_paths["wav"])
        if "plot" in tune_paths:
            title = f"{stem} (seed {options.seed})"
            if codec.name == "paper":
                result.files.append(write_plot(tune, tune_paths["plot"], title,
                                               result.primer_steps))
            else:
                result.files.append(write_melody_plot(played, tune_paths["plot"], title,
                                                      result.primer_quarters))
        if "musicxml" in tune_paths:
            result.files.append(write_melody_musicxml(melody, tune_paths["musicxml"],
                                                      options.tempo, stem))
        if "abc" in tune_paths:
            from seqgan_music.music.abc import write_abc

            result.files.append(write_abc(melody, tune_paths["abc"], [stem], options.tempo,
                                          composer="seqgan-music"))
        if "svg" in tune_paths:
            from seqgan_music.music.score import write_svg

            result.files.append(write_svg(melody, tune_paths["svg"], stem, options.tempo))
        if reporter is not None:
            reporter.advance("write", {})
    return result

"""The studio's only door into the library: compose, the model zoo, runs, tasks and `train`.

Every call the web layer makes into `seqgan_music.app.compose`, `seqgan_music.music.zoo`,
`seqgan_music.io.runs` and the task registry goes through this module (keyword arguments only), so
a change of those interfaces touches one file. Notes for the piano roll are read back from the
MIDI file compose wrote (pretty_midi), never from tokens, so the studio does not depend on the
token representation. Every file of a run is read through `safe_io` (a regular file inside the
runs folder, never a link out of it, a FIFO or a device). Nothing here trains or makes music
on its own.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.errors import CheckpointError, ConfigError, SeqganMusicError
from seqgan_music.io import safe_io

PREVIEW_SECONDS = 40.0  # a run's sample file holds 100 tunes back to back: play the opening
CURVE_RECORDS = 5000  # metrics.jsonl records sent to the page at most
TEXT_SAMPLE_LINES = 30
RUN_FILES = ("config.toml", "metrics.jsonl", "figures.json", "train.log", "model.safetensors")
READ_BYTES = 64 << 20  # a run's metrics, figures or log read at most


@dataclass
class Tune:
    """One composed tune: its files, piano-roll notes and how it was made."""

    midi: Path
    wav: Path
    synth: str
    model: str
    notes: list[dict[str, float]] = field(default_factory=list)
    primer_seconds: float = 0.0
    seconds: float = 0.0
    beats_per_bar: float = 4.0  # quarter notes per bar (3 in 6/8)
    warnings: list[str] = field(default_factory=list)
    abc: Path | None = None  # the tune as ABC (key with its mode, repeats, chord symbols)
    svg: Path | None = None  # its engraved score


def warm_up() -> None:
    """Import what the first compose needs (numpy, pretty_midi, the model reader), so the
    page's first tune is as quick as the next ones; run in the background at start-up."""
    import pretty_midi  # noqa: F401

    import seqgan_music.app.compose  # noqa: F401
    import seqgan_music.app.inference  # noqa: F401
    import seqgan_music.music.render  # noqa: F401


def shipped_models() -> list[dict[str, Any]]:
    """The zoo's models as `{"id", "name", "summary", "default"}` (id `shipped:NAME`; default:
    the one `seqgan-music compose` plays without --model, which Compose selects first)."""
    from seqgan_music.music import zoo

    models = zoo.shipped_models()
    default = zoo.default_model().name if models else ""
    return [{"id": f"shipped:{m.name}", "name": m.name, "summary": m.summary,
             "default": m.name == default} for m in models]


def shipped_path(name: str) -> Path:
    from seqgan_music.music import zoo

    return zoo.find_shipped(name).path


def music_tasks() -> set[str]:
    """Names of the tasks whose samples are music (MIDI)."""
    from seqgan_music.tasks import discover_tasks

    loaded, _ = discover_tasks()
    return {name for name, (task, _entry) in loaded.items() if task.sample_suffix == ".mid"}


def task_choices() -> list[dict[str, Any]]:
    """Every task with its presets, data status, source and summary (the train page)."""
    from seqgan_music.tasks import discover_tasks

    loaded, _ = discover_tasks()
    return [{"name": name, "presets": list(task.preset_names()), "data": task.data_status(),
             "source": task.source(), "summary": task.summary,
             "music": task.sample_suffix == ".mid"}
            for name, (task, _entry) in loaded.items()]


def train_defaults() -> dict[str, str]:
    """What the train page starts with: the task and preset of the model Compose plays by
    default (its model card says how it was trained), so training there makes that kind."""
    from seqgan_music.music.zoo import default_model

    try:
        card = default_model().card
    except SeqganMusicError:
        return {"task": "nottingham", "preset": "quick"}
    return {"task": str(card.get("task") or "nottingham"),
            "preset": str(card.get("preset") or "default")}


def methods() -> list[str]:
    from seqgan_music.config import METHODS

    return list(METHODS)


def compose_tunes(*, model: Path, folder: Path, num: int, length: int | None,
                  temperature: float, seed: int, tempo: float, program: int,
                  primer: Path | None, key: str | None = None,
                  meter: str | None = None, chords: bool = True,
                  accompaniment_program: int | None = None, bars: int | None = None,
                  form: str | None = None) -> list[Tune]:
    """Compose `num` tunes into `folder` (MIDI + WAV + ABC + SVG score each) and read their
    notes back."""
    import warnings

    from seqgan_music.app.compose import ComposeOptions, compose
    from seqgan_music.errors import DataWarning

    options = ComposeOptions(out=folder / "tune.mid", model=model, num=num, length=length,
                             temperature=temperature, seed=seed, primer=primer, tempo=tempo,
                             program=program, wav=True, runs=folder, key=key, meter=meter,
                             abc=True, svg=_engraves(), chords=chords, bars=bars, form=form)
    if accompaniment_program is not None:
        options.accompaniment_program = accompaniment_program
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compose(options)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    primer_seconds = result.primer_written * 60.0 / tempo
    tunes = []
    for midi in (f for f in result.files if f.suffix.lower() in (".mid", ".midi")):
        tune = Tune(midi, midi.with_suffix(".wav"), result.synth, result.model,
                    primer_seconds=primer_seconds, warnings=said, abc=midi.with_suffix(".abc"))
        if midi.with_suffix(".svg").is_file():
            tune.svg = midi.with_suffix(".svg")
        tune.notes, tune.seconds, tune.beats_per_bar = read_notes(midi, tempo)
        tunes.append(tune)
    return tunes


def _engraves() -> bool:
    """Whether Verovio is here to engrave scores."""
    from importlib.util import find_spec

    return find_spec("verovio") is not None


def write_musicxml(*, model: Path, out: Path, length: int | None, temperature: float,
                   seed: int, tempo: float, program: int, primer: Path | None, index: int,
                   num: int, key: str | None = None, meter: str | None = None,
                   chords: bool = True, bars: int | None = None, form: str | None = None
                   ) -> Path:
    """The MusicXML of tune `index` (from 1) of a compose call: the same call again (same seed,
    same tunes) with MusicXML asked for, so the studio never converts music itself."""
    from seqgan_music.app.compose import ComposeOptions, compose

    options = ComposeOptions(out=out / "tune.mid", model=model, num=num, length=length,
                             temperature=temperature, seed=seed, primer=primer, tempo=tempo,
                             program=program, musicxml=True, force=True, runs=out, key=key,
                             meter=meter, chords=chords, bars=bars, form=form)
    result = compose(options)
    written = [f for f in result.files if f.suffix == ".musicxml"]
    return written[index - 1]


def read_notes(midi: Path, tempo: float | None = None) -> tuple[list[dict[str, float]], float,
                                                                  float]:
    """Notes of a MIDI file as `{"pitch", "start", "end"}` in beats (quarter notes), its length
    in beats and its quarter notes per bar (4/4 when the file names no time signature)."""
    import pretty_midi

    try:
        score = pretty_midi.PrettyMIDI(str(midi))
    except Exception as error:  # pretty_midi raises many kinds on a broken file
        raise ConfigError(f"{midi.name} is not a readable MIDI file ({error})") from None
    if tempo is None:
        _times, tempi = score.get_tempo_changes()
        tempo = float(tempi[0]) if len(tempi) else 120.0
    beat = 60.0 / tempo
    tracks = [i for i in score.instruments if not i.is_drum]
    melody = [i for i in tracks if i.name == "melody"]  # not the accompaniment compose adds
    notes = [{"pitch": n.pitch, "start": n.start / beat, "end": n.end / beat}
             for inst in (melody or tracks) for n in inst.notes]
    notes.sort(key=lambda n: (n["start"], n["pitch"]))
    signatures = score.time_signature_changes
    beats_per_bar = (signatures[0].numerator * 4.0 / signatures[0].denominator if signatures
                     else 4.0)
    return notes, score.get_end_time() / beat, beats_per_bar


def preview_wav(midi: bytes, out: Path, seconds: float = PREVIEW_SECONDS) -> str:
    """The opening `seconds` of a MIDI file (its bytes, read through the guarded open)
    rendered to WAV (FluidSynth or the sine fallback, as compose renders); returns which
    synthesiser made it."""
    import io

    import pretty_midi

    from seqgan_music.music.render import write_wav

    try:
        score = pretty_midi.PrettyMIDI(io.BytesIO(midi))
    except Exception as error:
        raise ConfigError(f"the sample is not a readable MIDI file ({error})") from None
    for inst in score.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        for note in inst.notes:
            note.end = min(note.end, seconds)
        inst.control_changes = [c for c in inst.control_changes if c.time < seconds]
    return write_wav(score, out, until=seconds)


def synth_label(synth: str) -> dict[str, Any]:
    """Whether FluidSynth made the audio, and the sentence the page shows."""
    real = synth.startswith("FluidSynth")
    text = ("FluidSynth with a General MIDI soundfont" if real else
            "the sine-wave fallback: no FluidSynth with a General MIDI soundfont here (Debian/"
            "Ubuntu: apt install fluidsynth fluid-soundfont-gm; macOS: brew install fluid-synth "
            "and a .sf2 file) for real instruments")
    return {"fluidsynth": real, "text": text}


# Runs ---------------------------------------------------------------------------------------

def run_state(run_dir: Path) -> str:
    """running (a process holds its lock), finished, or interrupted."""
    from seqgan_music.io.runs import check_not_in_use, is_finished

    try:
        check_not_in_use(run_dir)
    except CheckpointError:
        return "running"
    return "finished" if is_finished(run_dir) else "interrupted"


def is_run(path: Path) -> bool:
    from seqgan_music.io.runs import is_run_dir

    return is_run_dir(path)


def run_task(run_dir: Path) -> str:
    """The task a run directory was trained on (its marker, else its folder's name)."""
    from seqgan_music.io.runs import read_run_marker

    return str((read_run_marker(run_dir) or {}).get("task") or run_dir.parent.name)


def find_runs(root: Path) -> list[Path]:
    """Every run directory `root/<task>/<stamp>` (newest first), links out of `root` skipped."""
    from seqgan_music.io.runs import is_run_dir

    if not root.is_dir():
        return []
    top = root.resolve()
    found = []
    for candidate in root.glob("*/*"):
        try:
            inside = candidate.resolve().is_relative_to(top)
        except OSError:
            continue
        if inside and not candidate.is_symlink() and is_run_dir(candidate):
            found.append(candidate)
    return sorted(found, key=lambda p: (_created(p), p.name), reverse=True)


def _created(run_dir: Path) -> str:
    from seqgan_music.io.runs import read_run_marker

    marker = read_run_marker(run_dir) or {}
    return str(marker.get("created") or "")


def _first_method(run_dir: Path) -> str:
    try:
        with safe_io.open_regular(run_dir / "metrics.jsonl", run_dir) as handle:
            first = json.loads(handle.readline(1 << 16).decode("utf-8") or "{}")
        return str(first.get("method", "")) if isinstance(first, dict) else ""
    except (OSError, ValueError, RecursionError):
        return ""


def run_summary(root: Path, run_dir: Path, presets: dict[str, str]) -> dict[str, Any]:
    """One line of the runs table."""
    from seqgan_music.io.provenance import recorded_preset
    from seqgan_music.io.runs import FINAL_MODEL, read_run_marker

    marker = read_run_marker(run_dir) or {}
    rel = run_dir.relative_to(root).as_posix()
    return {"id": rel, "task": marker.get("task") or run_dir.parent.name,
            "method": _first_method(run_dir) or "?",
            "preset": presets.get(rel) or recorded_preset(marker) or "",
            "created": _created(run_dir), "state": run_state(run_dir),
            "model": (run_dir / FINAL_MODEL).is_file()
            or (run_dir / "checkpoints" / "latest.pt").is_file()}


def run_detail(root: Path, run_dir: Path, presets: dict[str, str]) -> dict[str, Any]:
    """A run's summary, figures, learning curves, samples and training log tail."""
    from seqgan_music.io.runs import MetricsLog

    detail = run_summary(root, run_dir, presets)
    try:
        lines = safe_io.read_bytes(run_dir / "metrics.jsonl", root, READ_BYTES).splitlines()
    except OSError:
        lines = []
    records = [r for r in map(MetricsLog._parse, lines[-CURVE_RECORDS:]) if r is not None]
    detail["metrics"] = records
    detail["figures"] = _read_json(run_dir / "figures.json", root)
    detail["labels"] = _figure_labels(str(detail["task"]))
    samples = sorted((run_dir / "samples").glob("*")) if (run_dir / "samples").is_dir() else []
    detail["samples"] = [{"name": p.name, "kind": "midi" if p.suffix == ".mid" else "text",
                          "lines": _head(p, root) if p.suffix == ".txt" else []}
                         for p in samples if p.is_file() and not p.is_symlink()]
    detail["files"] = [name for name in RUN_FILES if (run_dir / name).is_file()
                       and not (run_dir / name).is_symlink()]
    detail["log"] = _tail(run_dir / "train.log", root)
    return detail


def _figure_labels(task: str) -> dict[str, str]:
    from seqgan_music.tasks import FIGURE_LABELS, load_task

    try:
        loaded = load_task(task)
    except SeqganMusicError:
        return dict(FIGURE_LABELS)
    return {**FIGURE_LABELS, **loaded.figure_labels}


def _read_json(path: Path, root: Path) -> Any:
    try:
        return json.loads(safe_io.read_text(path, root, READ_BYTES))
    except (OSError, ValueError, RecursionError):
        return None


def _head(path: Path, root: Path, lines: int = TEXT_SAMPLE_LINES) -> list[str]:
    try:
        with safe_io.open_regular(path, root) as handle:
            return [handle.readline(1 << 16).decode("utf-8", "replace").rstrip("\n")
                    for _ in range(lines)]
    except OSError:
        return []


def _tail(path: Path, root: Path, lines: int = 40) -> list[str]:
    try:
        with safe_io.open_regular(path, root) as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - (1 << 20)))  # the last MiB holds the last lines
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


# Training -----------------------------------------------------------------------------------

def train_argv(*, task: str, preset: str, method: str, runs: Path, data: Path | None,
               seed: int | None, resume: Path | None, overrides: list[str]) -> list[str]:
    """The CLI's own `train` command line, exactly as a user would type it."""
    argv = [sys.executable, "-m", "seqgan_music", "train", task, "--out", str(runs)]
    if resume is not None:
        argv += ["--resume", str(resume)]
    else:
        argv += ["--preset", preset, "--method", method]
        if seed is not None:
            argv += ["--seed", str(seed)]
    if data is not None:
        argv += ["--data", str(data)]
    for override in overrides:
        argv += ["--set", override]
    return argv


def check_train_request(*, task: str, preset: str, method: str) -> None:
    """Refuse an unknown task, preset or method before a process is started."""
    from seqgan_music.tasks import load_task

    loaded = load_task(task)
    if preset not in loaded.preset_names():
        raise ConfigError(f"preset {preset!r} is unknown for task {task}; accepted: "
                          f"{', '.join(loaded.preset_names())}")
    if method not in methods():
        raise ConfigError(f"method {method!r} is unknown; accepted: {', '.join(methods())}")


def resumable(run_dir: Path) -> bool:
    return (run_dir / "checkpoints" / "latest.pt").is_file() and run_state(run_dir) == "interrupted"

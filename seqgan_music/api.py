"""The Python API: `compose` hands back `Tune`s, `load_model` finds a model, `train` trains one.

These are the functions the CLI and the studio call (`music.compose.compose`,
`app.train.train`), so the same seed and options give the same tune from `seqgan-music compose`,
the studio and `seqgan_music.compose(...)`. Nothing is written unless asked: `Tune.write(path)`
routes by the file's suffix to the library's writers (`music.render`).

    >>> import seqgan_music
    >>> tunes = seqgan_music.compose(num=2, seed=7)      # the shipped default model
    >>> tunes[0].key, tunes[0].meter, len(tunes[0].notes)
    >>> tunes[0].write("tune.mid"); tunes[0].write("tune.musicxml")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from seqgan_music.errors import ConfigError

if TYPE_CHECKING:
    from seqgan_music.app.train import TrainOutcome

__all__ = ["Model", "Note", "Tune", "compose", "load_model", "train"]


class Note(NamedTuple):
    """One note as written to MIDI: seconds from the start, MIDI pitch 21..108."""

    start: float
    end: float
    pitch: int


@dataclass(frozen=True)
class Model:
    """A music model compose can play: a shipped model, a run directory, a model folder
    (`config.json`, `model.safetensors`, `README.md`) or a model file."""

    path: Path  # what compose loads
    name: str  # the shipped model's name, else the path as given
    representation: str  # the codec: "paper", "onset", ...
    task: str  # the task it was trained on
    card: dict[str, Any] = field(default_factory=dict)  # model card metadata (may be empty)


@dataclass(frozen=True)
class Tune:
    """A composed tune: its notes, key and meter, convertible and writable.

    `tokens` are the model's own token ids (primer included when kept)."""

    tokens: list[int]
    key: str  # e.g. "G major"
    meter: str  # e.g. "6/8"
    ended: bool  # the model ended the tune (onset models) rather than --length
    tempo: float  # quarter notes per minute
    model: str  # which model made it, in words
    seed: int
    representation: str
    _melody: Any = field(repr=False)  # codecs.Melody as written
    _midi: Any = field(repr=False)  # pretty_midi.PrettyMIDI as written by compose

    @property
    def notes(self) -> list[Note]:
        """Every melody note as written to the MIDI file, in time order."""
        tracks = [i for i in self._midi.instruments if i.name == "melody"] or \
            self._midi.instruments[:1]  # not the accompaniment
        notes = [Note(float(n.start), float(n.end), int(n.pitch))
                 for instrument in tracks for n in instrument.notes]
        return sorted(notes)

    @property
    def chords(self) -> list[tuple[float, str]]:
        """Chord symbols (position in quarter notes, name such as "G", "Em", "D7"); empty
        when composed with chords=False."""
        return list(getattr(self._melody, "chords", []))

    @property
    def seconds(self) -> float:
        return float(self._midi.get_end_time())

    def to_pretty_midi(self) -> Any:
        """A copy of the tune as a `pretty_midi.PrettyMIDI` (what `write("x.mid")` writes)."""
        import copy

        return copy.deepcopy(self._midi)

    def to_music21(self) -> Any:
        """The tune as a `music21.stream.Score`: the notation `write("x.musicxml")` writes
        (meter, key signature, pick-up bar)."""
        import tempfile

        import music21

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "tune.musicxml"
            self.write(path)
            return music21.converter.parse(str(path))

    def write(self, path: str | Path, force: bool = False, soundfont: str | Path | None = None
              ) -> Path:
        """Write the tune; the suffix picks the format: .mid/.midi, .musicxml/.xml, .wav
        (FluidSynth with a General MIDI soundfont when found, else sine waves), .png (piano
        roll) or .abc (when this installation has an ABC writer). An existing file is replaced
        only with `force`; every file is written atomically."""
        from seqgan_music.io.runs import check_output
        from seqgan_music.music import render

        path = Path(path)
        suffix = path.suffix.lower()
        writers = {".mid": "midi", ".midi": "midi", ".musicxml": "musicxml",
                   ".xml": "musicxml", ".wav": "wav", ".png": "plot"}
        abc_writer = _abc_writer()
        if abc_writer is not None:
            writers[".abc"] = "abc"
        if suffix not in writers:
            raise ConfigError(f"cannot write {path}: the suffix {path.suffix or '(none)'!r} "
                              f"names no format; accepted: {', '.join(sorted(writers))}")
        check_output(path, force)
        kind = writers[suffix]
        if kind == "midi":
            return render.write_midi(self._midi, path)
        if kind == "wav":
            render.write_wav(self._midi, path, soundfont=Path(soundfont) if soundfont else None)
            return path
        if kind == "plot":
            title = f"{path.name} (seed {self.seed})"
            if self.representation == "paper":
                return render.write_plot(self.tokens, path, title)
            return render.write_melody_plot(self._melody, path, title)
        if kind == "abc":
            assert abc_writer is not None
            return Path(abc_writer(self._melody, path, titles=[path.stem], tempo=self.tempo))
        return render.write_melody_musicxml(self._melody, path, self.tempo, path.stem)


def _abc_writer() -> Any:
    """`music.abc.write_abc(melodies, path, titles=..., tempo=...)` where this installation has
    it, else None."""
    try:
        from seqgan_music.music import abc  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return None
    return getattr(abc, "write_abc", None)


def load_model(name_or_path: str | Path | Model | None = None) -> Model:
    """A model for `compose`: a shipped model's name (`seqgan-music models`), a run
    directory, a model folder (`seqgan-music export --out DIR`), a checkpoint or a
    `.safetensors` file; None: the shipped default model. Raises `CheckpointError` or
    `ConfigError` (one line) when it is none of those or unreadable."""
    from seqgan_music.app.inference import read_model
    from seqgan_music.music import zoo
    from seqgan_music.music.codecs import codec_from_spec

    if isinstance(name_or_path, Model):
        return name_or_path
    card: dict[str, Any] = {}
    if name_or_path is None:
        shipped = zoo.default_model()
        path, name, card = shipped.path, shipped.name, shipped.card
    elif Path(name_or_path).exists():
        path, name = Path(name_or_path), str(name_or_path)
        card = zoo.read_folder_card(path)
    else:
        shipped = zoo.find_shipped(str(name_or_path))
        path, name, card = shipped.path, shipped.name, shipped.card
    found = read_model(path)
    codec = codec_from_spec(found.task.get("codec"), found.task)
    return Model(path, name, codec.name, str(found.config.get("task", "")), card)


def compose(num: int = 1, *, model: str | Path | Model | None = None, seed: int = 0,
            length: int | None = None, temperature: float = 1.0, key: str | None = None,
            meter: str | None = None, primer: str | Path | None = None, tune: int = 1,
            keep_primer: bool = True, tempo: float | None = None, program: int = 0,
            **options: Any) -> list[Tune]:
    """Compose `num` tunes with a music model; writes nothing.

    Args mirror `seqgan-music compose` (same defaults, so the same seed gives the same tune):
    `model` a name, path or `Model` (None: the shipped default model); `primer` a .mid/.midi/
    .abc file or inline notes ("D4 - E4 F#4 | G4"); `key` e.g. "G" or "E minor"; `meter`
    e.g. "6/8"; `length` the most steps to sample (None: the model's default); `tempo` in
    quarter notes per minute. Further `ComposeOptions` fields may be passed by name.
    """
    from seqgan_music.app.compose import ComposeOptions
    from seqgan_music.app.compose import compose as compose_files
    from seqgan_music.music.render import DEFAULT_TEMPO

    chosen = model.path if isinstance(model, Model) else (Path(model) if model is not None
                                                          else None)
    primer_file, primer_notes = _primer(primer)
    try:
        settings = ComposeOptions(out=None, model=chosen, num=num, length=length,
                                  temperature=temperature, seed=seed, primer=primer_file,
                                  keep_primer=keep_primer,
                                  tempo=DEFAULT_TEMPO if tempo is None else tempo,
                                  program=program, tune=tune, primer_notes=primer_notes,
                                  key=key, meter=meter, **options)
    except TypeError as error:
        raise ConfigError(f"compose() got an unknown option: {error}") from None
    result = compose_files(settings)
    return [Tune(tokens, key_, meter_, ended, settings.tempo, result.model, seed,
                 result.representation, melody, midi)
            for tokens, key_, meter_, ended, melody, midi in zip(
                result.tunes, result.keys, result.meters, result.ended, result.melodies,
                result.midis, strict=True)]


def _primer(primer: str | Path | None) -> tuple[Path | None, str | None]:
    """A primer file (a Path, an existing path or a name with a music suffix) or inline notes:
    the CLI's rule."""
    if primer is None:
        return None, None
    if isinstance(primer, Path):
        return primer, None
    path = Path(primer)
    if path.exists() or path.suffix.lower() in (".mid", ".midi", ".abc"):
        return path, None
    return None, primer


def train(task: str, *, preset: str = "default", data: str | Path | None = None,
          out: str | Path = "runs", seed: int | None = None, device: str | None = None,
          method: str = "seqgan", overrides: dict[str, Any] | list[str] | None = None,
          config: str | Path | None = None, resume: str | Path | None = None,
          reporter: Any = None) -> TrainOutcome:
    """Train `method` ("seqgan", "mle", "ss", "pg-bleu") on `task` as `seqgan-music train`
    does, in a new run directory under `out`; returns the outcome (`run_dir`, `figures`).

    `overrides` are config fields, e.g. {"train.batch_size": 32} or ["train.batch_size=32"].
    `reporter` receives progress (a `trainer.loop.Reporter`); None trains silently.
    """
    from seqgan_music.app import train as training_job

    if isinstance(overrides, dict):
        sets = [f"{k}={_toml_value(v)}" for k, v in overrides.items()]
    else:
        sets = list(overrides or [])
    return training_job.train(task, Path(data) if data is not None else None, preset,
                          Path(config) if config is not None else None, sets, Path(out),
                          Path(resume) if resume is not None else None, seed, device, method,
                          reporter)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value)  # a TOML basic string
    return repr(value) if not isinstance(value, (list, tuple)) else \
        "[" + ", ".join(_toml_value(v) for v in value) + "]"

"""Music tasks: `nottingham` (the paper's data), `folk` (music21's bundled corpora) and `midi`
(any folder of MIDI/ABC files). All share the representation of `seqgan_music.music`, the
presets in `presets/music/`, the paper's evaluators (BLEU-4, MSE) and MIDI export.
"""

from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from seqgan_music.errors import DataError, DataMissing
from seqgan_music.tasks import (
    Task,
    TaskOption,
    builtin_presets,
    count_option,
    data_root,
    fraction_option,
    seed_option,
)

if TYPE_CHECKING:
    import torch

    from seqgan_music.config import ExperimentConfig
    from seqgan_music.io.downloads import Archive
    from seqgan_music.music.codecs import Codec
    from seqgan_music.trainer.loop import Corpus

NOTTINGHAM_COMMIT = "0992bb6cd864f6d4b90d6663e08c0ef53ffaa08f"
NOTTINGHAM_HOME = "https://github.com/jukedeck/nottingham-dataset"
NOTTINGHAM_URLS = (f"{NOTTINGHAM_HOME}/archive/{NOTTINGHAM_COMMIT}.zip",)
FOLK_CORPORA = ("oneills1850", "ryansMammoth", "essenFolksong")
DEFAULT_FOLK_CORPORA = ["oneills1850"]
MUSIC_OPTION_TYPES = {
    "step": TaskOption(0.4, "seconds between 0.01 and 10", lambda v: 0.01 <= v <= 10),
    "overlap": count_option(0, 0, 10**6),
    "melody": TaskOption("auto", "auto or highest", lambda v: v in ("auto", "highest")),
    "valid_fraction": fraction_option(0.1),
    "test_fraction": fraction_option(0.1),
    "split_seed": seed_option(),
    "representation": TaskOption("paper", "paper or onset (or a codec a plug-in registers)",
                                 lambda v: isinstance(v, str) and bool(v)),
    # the evaluators' conventions (music.metrics): BLEU-4's references and the MSE's scale; the
    # other choice of each is reported beside it
    "bleu_references": TaskOption("test", "test or train", lambda v: v in ("test", "train")),
    "mse": TaskOption("per_token", "per_token or window_l2",
                      lambda v: v in ("per_token", "window_l2")),
}
EVALUATION_OPTIONS = ("bleu_references", "mse")


def nottingham_archive() -> Archive:
    """The jukedeck Nottingham archive, pinned, with the sums of the files we keep."""
    from seqgan_music.io.downloads import Archive, read_sums

    sums = resources.files("seqgan_music.music").joinpath("sums/nottingham.sha256")
    return Archive("nottingham", NOTTINGHAM_URLS, read_sums(sums.read_text(encoding="utf-8")),
                   size_hint="a few MB", homepage=NOTTINGHAM_HOME)


class MusicTask(Task):
    """Shared by the music tasks; subclasses say where the files are (`locate`)."""

    preset_root = builtin_presets("music")
    sample_suffix = ".mid"
    export_suffixes = (".mid", ".midi", ".abc")
    figure_groups = {
        "the paper's metrics (BLEU-4 against task_options.bleu_references, MSE as "
        "task_options.mse; defaults: test split, per token)": ("bleu4", "mse", "nll_valid"),
        "the other conventions (the paper's are unpublished; window L2 is inferred from its "
        "figures)": ("bleu4_train", "bleu4_test", "mse_window_l2", "mse_per_token"),
        "music statistics": ("pitch_range", "pitch_classes", "in_scale", "rests", "repeats",
                             "copied_8grams"),
        "rhythm (onset representation)": ("pc_entropy", "len_sixteenth", "len_eighth",
                                          "len_quarter", "len_longer"),
    }
    figure_labels = {"bleu4": "BLEU-4", "mse": "MSE", "nll_valid": "NLL valid",
                     "bleu4_train": "BLEU-4 (train refs)", "bleu4_test": "BLEU-4 (test refs)",
                     "mse_window_l2": "MSE as window L2 (inferred)",
                     "mse_per_token": "MSE per token",
                     "pitch_range": "pitch range", "pitch_classes": "pitch classes",
                     "in_scale": "in scale", "rests": "rests", "repeats": "repeats",
                     "copied_8grams": "copied 8-grams", "pc_entropy": "PC entropy",
                     "len_sixteenth": "16ths", "len_eighth": "8ths", "len_quarter": "4ths",
                     "len_longer": "longer"}
    extra_options: ClassVar[tuple[str, ...]] = ()
    accepted_options = MUSIC_OPTION_TYPES
    paper_data: ClassVar[bool] = False  # the paper's figures are shown beside this task's

    def defaults(self) -> dict[str, Any]:
        from seqgan_music.music.tokens import VOCAB_SIZE, WINDOW

        return {"data": {"seq_len": WINDOW, "vocab_size": VOCAB_SIZE}}

    def locate(self, data: Path | None, options: dict[str, Any]) -> tuple[list[Path], str]:
        raise NotImplementedError

    def codec(self, options: dict[str, Any]) -> Codec:
        """The representation this task trains on (task_options.representation). A plug-in
        task may return its own `codecs.Codec` here."""
        from seqgan_music.music.codecs import PaperCodec, make_codec

        name = str(options.get("representation", "paper"))
        if name == "paper":
            return PaperCodec(float(options.get("step", 0.4)))
        return make_codec(name)

    def prepare(self, config: ExperimentConfig, data: Path | None = None) -> Corpus:
        import torch

        from seqgan_music.music.corpus import MusicOptions, build_music_corpus
        from seqgan_music.music.metrics import PAPER_FIGURES, music_evaluator
        from seqgan_music.music.tokens import VOCAB_SIZE
        from seqgan_music.trainer.loop import Corpus

        options = MusicOptions.from_options(config.task_options,
                                            (*self.extra_options, *EVALUATION_OPTIONS))
        codec = self.codec(config.task_options)
        roots, label = self.locate(data, config.task_options)
        music = build_music_corpus(roots, label, options, config.data.seq_len,
                                   reporter=getattr(self, "reporter", None))
        evaluate = music_evaluator(
            music.train, music.test, codec,
            bleu_references=str(config.task_options.get("bleu_references", "test")),
            mse=str(config.task_options.get("mse", "per_token")))
        manifest = music.manifest
        windows = manifest["windows_per_split"]
        spec: dict[str, Any] = {
            "music": True, "step": options.step, "melody": options.melody,
            **({} if codec.name == "paper" else {"codec": codec.spec()}),
            "label": f"{label}: {manifest['tunes']} tunes, {windows['train']}/"
                     f"{windows['valid']}/{windows['test']} windows of {config.data.seq_len} "
                     f"(train/valid/test, split by tune), {len(manifest['skipped'])} skipped",
            "manifest": manifest.get("cache", ""),
            "reference_figures": {**(PAPER_FIGURES if self.paper_data and codec.name == "paper"
                                     else {}),
                                  "Data (valid)": evaluate(music.valid)},
        }
        if codec.name != "paper" and "notes" in manifest:
            spec["coverage"] = {k: manifest[k] for k in ("notes", "notes_kept", "onsets_on_grid")}
        vocab = VOCAB_SIZE if codec.name == "paper" else codec.vocab_size
        return Corpus(torch.from_numpy(music.train), torch.from_numpy(music.valid),
                      torch.from_numpy(music.test), vocab, evaluate, spec)

    def decode(self, tokens: torch.Tensor, spec: dict[str, Any]) -> list[str]:
        from seqgan_music.music.codecs import codec_from_spec

        codec = codec_from_spec(spec.get("codec"), spec)
        return [" ".join(codec.token_name(t) for t in _until_end(row.tolist(), codec))
                for row in tokens]

    def export(self, tokens: torch.Tensor, spec: dict[str, Any], path: Path) -> list[Path]:
        """One MIDI file with the samples one after another, a rest step apart; or, for a path
        ending in .abc, an ABC tune book with a tune per sample (its key and mode read from its
        notes)."""
        from dataclasses import replace

        from seqgan_music.music.codecs import codec_from_spec
        from seqgan_music.music.keys import estimate_key, estimate_mode
        from seqgan_music.music.render import melodies_to_midi, tokens_to_midi, write_midi

        codec = codec_from_spec(spec.get("codec"), spec)
        if path.suffix.lower() == ".abc":
            from seqgan_music.music.abc import write_abc

            tunes = [codec.decode(row.tolist()) for row in tokens]
            tunes = [replace(m, key=estimate_mode(m.notes, estimate_key(m.notes))
                             if m.notes else (0, "major")) for m in tunes]
            return [write_abc(tunes, path, [f"Sample {i + 1}" for i in range(len(tunes))])]
        if codec.name == "paper":
            return [write_midi(tokens_to_midi([row.tolist() for row in tokens], gap=1), path)]
        melodies = [codec.decode(_until_end(row.tolist(), codec)) for row in tokens]
        return [write_midi(melodies_to_midi(melodies), path)]

    def _explicit(self, data: Path) -> tuple[list[Path], str]:
        if not data.exists():
            raise DataError(f"--data {data} does not exist; accepted: a folder of .mid/.midi/"
                            ".abc files (searched recursively) or one such file")
        return [data], data.resolve().name or str(data)


class NottinghamTask(MusicTask):
    """The Nottingham folk tunes (jukedeck's MIDI melodies): the paper's music data."""

    name = "nottingham"
    summary = "Nottingham folk tunes, 88 pitches + rest every 0.4 s, windows of 32 (paper)"
    paper_data = True

    def source(self) -> str:
        return f"--data DIR, $SEQGAN_MUSIC_DATA/nottingham, or the cache ({NOTTINGHAM_HOME})"

    def _found(self) -> Path | None:
        from seqgan_music.io.downloads import cache_dir, is_complete

        root = data_root()
        if root is not None and (root / "nottingham").is_dir():
            return root / "nottingham"
        cached = cache_dir() / "nottingham"
        return cached if is_complete(cached) else None

    def data_status(self, data: Path | None = None) -> str:
        found = data or self._found()
        return f"present ({found})" if found else "missing: seqgan-music data download nottingham"

    def locate(self, data: Path | None, options: dict[str, Any]) -> tuple[list[Path], str]:
        if data is not None:
            return self._explicit(data)
        found = self._found()
        if found is None:
            raise DataMissing(
                "the Nottingham data is not here: run `seqgan-music data download nottingham` "
                "(a few MB), or pass --data PATH pointing at a local copy (e.g. a clone of "
                f"{NOTTINGHAM_HOME}), or set $SEQGAN_MUSIC_DATA", task=self.name)
        return [found], "Nottingham (jukedeck)"

    def download(self, force: bool = False, progress: Any = None) -> Path:
        from seqgan_music.io.downloads import download_archive

        return download_archive(nottingham_archive(), force=force, progress=progress)


class FolkTask(MusicTask):
    """Folk-tune corpora bundled with music21: real tunes on an offline machine, no download."""

    name = "folk"
    summary = "folk tunes bundled with music21 (O'Neill's 1850, ...): offline, same representation"
    extra_options = ("corpora",)
    accepted_options = {**MUSIC_OPTION_TYPES, "corpora": TaskOption(
        list(DEFAULT_FOLK_CORPORA), kinds=(list, str))}

    def source(self) -> str:
        return ("music21's corpus (task_options.corpora: " + ", ".join(FOLK_CORPORA) +
                f"; default {', '.join(DEFAULT_FOLK_CORPORA)})")

    def data_status(self, data: Path | None = None) -> str:
        try:
            self.locate(None, {})
        except DataError:
            return "missing (music21 corpus not installed)"
        return "present (music21)"

    def locate(self, data: Path | None, options: dict[str, Any]) -> tuple[list[Path], str]:
        if data is not None:
            raise DataError("the folk task reads music21's bundled corpora and takes no --data; "
                            "train your own folder with the midi task: seqgan-music train midi "
                            "--data FOLDER")
        names = options.get("corpora", DEFAULT_FOLK_CORPORA)
        if isinstance(names, str):
            names = [names]
        unknown = [n for n in names if n not in FOLK_CORPORA]
        if unknown or not names:
            raise DataError(f"task_options.corpora = {names!r} is invalid; accepted: a list of "
                            f"{', '.join(FOLK_CORPORA)}")
        spec = importlib.util.find_spec("music21")
        if spec is None or not spec.submodule_search_locations:
            raise DataError("music21 is not installed; pip install music21")
        base = Path(next(iter(spec.submodule_search_locations))) / "corpus"
        roots = [base / n for n in names]
        missing = [r for r in roots if not r.is_dir()]
        if missing:
            raise DataError(f"music21's corpus folder {missing[0]} is missing; reinstall music21")
        return roots, "music21 folk corpora (" + ", ".join(names) + ")"


class MidiTask(MusicTask):
    """Your own folder of MIDI/ABC files, same representation and evaluators."""

    name = "midi"
    summary = "your own folder of MIDI/ABC files (--data DIR), same representation"

    def source(self) -> str:
        return "--data DIR (a folder of .mid/.midi/.abc, searched recursively)"

    def data_status(self, data: Path | None = None) -> str:
        return "yours: pass --data DIR"

    def locate(self, data: Path | None, options: dict[str, Any]) -> tuple[list[Path], str]:
        if data is None:
            raise DataError("the midi task trains on your own files: pass --data FOLDER (a "
                            "folder of .mid/.midi/.abc files, searched recursively)")
        return self._explicit(data)


def _until_end(row: list[int], codec: Any) -> list[int]:
    """A sampled row up to and including its first end-of-tune token (the rest is padding)."""
    end = codec.end_token()
    if end is not None and end in row:
        return [int(t) for t in row[: row.index(end) + 1]]
    return [int(t) for t in row]

"""Task plug-ins: what a task is and how tasks are found.

A task bundles a corpus source, a tokenizer (encode raw items to fixed-length id sequences and
decode back), evaluators, an exporter, presets and optionally its own CLI commands. Every task,
built-in or third-party, registers in the `seqgan_music.tasks` entry-point group:

    [project.entry-points."seqgan_music.tasks"]
    mytask = "my_package.module:MyTask"

`Task` is the base class to subclass; `load_task(name)` finds one; `discover_tasks()` lists them
and reports plug-ins that fail to import without breaking the others.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from seqgan_music.errors import ConfigError, TaskError

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable

if TYPE_CHECKING:
    import torch
    import typer

    from seqgan_music.config import ExperimentConfig
    from seqgan_music.trainer.loop import Corpus

ENTRY_POINT_GROUP = "seqgan_music.tasks"
# How every table, plot and progress line names a figure (JSON and CSV keep the machine names);
# a task's `figure_labels` add its own figures.
FIGURE_LABELS = {
    "g_loss": "G loss", "d_loss": "D loss", "d_accuracy": "D accuracy", "reward": "reward",
    "nll_oracle": "NLL-oracle", "nll_valid": "NLL valid", "nll_test": "NLL-test",
    "mse": "MSE", **{f"bleu{n}": f"BLEU-{n}" for n in range(2, 6)},
    **{f"self_bleu{n}": f"Self-BLEU-{n}" for n in range(2, 6)},
}
BUILTIN_TASKS = {
    "oracle": "seqgan_music.tasks.oracle:OracleTask",
    "nottingham": "seqgan_music.tasks.music:NottinghamTask",
    "folk": "seqgan_music.tasks.music:FolkTask",
    "midi": "seqgan_music.tasks.music:MidiTask",
    "poems": "seqgan_music.tasks.text:PoemsTask",
    "obama": "seqgan_music.tasks.text:ObamaTask",
    "coco": "seqgan_music.tasks.text:CocoTask",
    "emnlp-news": "seqgan_music.tasks.text:EmnlpNewsTask",
    "text": "seqgan_music.tasks.text:TextFileTask",
}


@dataclass(frozen=True)
class TaskOption:
    """One `task_options.<name>` a task accepts: its type (that of `example`, or `kinds`) and
    an optional value check with the words that say what is accepted."""

    example: Any
    accepted: str = ""
    check: Callable[[Any], bool] | None = None
    kinds: tuple[type, ...] = ()

    def validate(self, name: str, value: Any) -> Any:
        """`value` checked (ints accepted for floats, made float); raises `ConfigError`."""
        kinds = self.kinds or (type(self.example),)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
        if ok and isinstance(value, list):
            ok = all(isinstance(v, type(self.example[0])) for v in value) if isinstance(
                self.example, list) and self.example else True
        if not ok:
            expected = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"config field task_options.{name} = {value!r} has the wrong type: "
                              f"expected {expected} like {self.example!r}")
        if self.check is not None and not self.check(value):
            raise ConfigError(f"config field task_options.{name} = {value!r} is invalid: "
                              f"expected {self.accepted}")
        return value


def check_task_options(task_name: str, declared: dict[str, TaskOption] | None,
                       options: dict[str, Any]) -> dict[str, Any]:
    """`options` checked against the options a task declares (None: the task checks its own).

    Returns the options with ints given for float options made floats.
    """
    if declared is None:
        return options
    unknown = sorted(set(options) - set(declared))
    if unknown:
        raise ConfigError(f"unknown {task_name} option task_options.{unknown[0]}; accepted: "
                          f"{', '.join(declared) or '(none)'}")
    return {name: declared[name].validate(name, value) for name, value in options.items()}


def fraction_option(example: float) -> TaskOption:
    """A split fraction: valid_fraction, test_fraction."""
    return TaskOption(example, "a fraction between 0 and 0.5", lambda v: 0 < v < 0.5)


def seed_option() -> TaskOption:
    """A seed option (split_seed, oracle_seed): the range of `--seed`."""
    from seqgan_music.limits import MAX_SEED

    return TaskOption(0, f"an integer in 0..{MAX_SEED} (2**63 - 1)", lambda v: 0 <= v <= MAX_SEED)


def count_option(example: int, lowest: int, highest: int) -> TaskOption:
    """An integer option in lowest..highest."""
    return TaskOption(example, f"an integer in {lowest}..{highest:,}",
                      lambda v: lowest <= v <= highest)


class Task:
    """Base class of a task plug-in. Subclasses set the class attributes and `prepare`."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # Folder holding `<preset>.toml` files; None means the task has only the core defaults.
    preset_root: ClassVar[Traversable | None] = None
    # File suffix of what `export` writes (run directories keep samples/<method><suffix>), and
    # every suffix `export` accepts (`generate --out` picks the format from the suffix).
    sample_suffix: ClassVar[str] = ".txt"
    export_suffixes: ClassVar[tuple[str, ...]] = (".txt", ".text")
    # How the CLI tables the figures: {table title: metric keys}, and column labels per key.
    figure_groups: ClassVar[dict[str, tuple[str, ...]]] = {}
    figure_labels: ClassVar[dict[str, str]] = {}
    # Set by the pipeline before `prepare`: a `trainer.loop.Reporter` for slow data preparation.
    reporter: Any = None
    # The `task_options` this task accepts, checked with their types when the config is
    # resolved; None (a plug-in that declares nothing) leaves every option to `prepare`.
    accepted_options: ClassVar[dict[str, TaskOption] | None] = None

    def figure_label(self, key: str) -> str:
        """The column label of figure `key` (e.g. "NLL valid" for `nll_valid`)."""
        return self.figure_labels.get(key) or FIGURE_LABELS.get(key, key)

    def source(self) -> str:
        """Where the data comes from, in a few words."""
        return ""

    def data_status(self, data: Path | None = None) -> str:
        """Whether the data is present locally, in a few words."""
        return "unknown"

    def defaults(self) -> dict[str, Any]:
        """Overrides of the core `ExperimentConfig` defaults, as a nested dict."""
        return {}

    def preset_names(self) -> list[str]:
        if self.preset_root is None:
            return []
        return sorted(p.name[:-5] for p in self.preset_root.iterdir() if p.name.endswith(".toml"))

    def preset(self, name: str) -> dict[str, Any]:
        """The preset `name` as a nested dict."""
        from seqgan_music.config import tomllib

        names = self.preset_names()
        if name not in names:
            raise ConfigError(
                f"preset {name!r} is unknown for task {self.name}; accepted: {', '.join(names)}"
            )
        assert self.preset_root is not None
        text = (self.preset_root / f"{name}.toml").read_text(encoding="utf-8")
        return tomllib.loads(text)

    def prepare(self, config: ExperimentConfig, data: Path | None = None) -> Corpus:
        """Read or build the corpus and return it as token arrays with evaluators."""
        raise NotImplementedError

    def decode(self, tokens: torch.Tensor, spec: dict[str, Any]) -> list[str]:
        """Readable form of each sequence (N, T): tokens joined by spaces by default."""
        return [" ".join(str(int(t)) for t in row) for row in tokens]

    def export(self, tokens: torch.Tensor, spec: dict[str, Any], path: Path) -> list[Path]:
        """Write samples (N, T) to `path` (text by default); returns the files written."""
        from seqgan_music.io.runs import atomic_write

        with atomic_write(path) as handle:
            handle.write("".join(line + "\n" for line in self.decode(tokens, spec)))
        return [path]

    def commands(self) -> typer.Typer | None:
        """An optional typer app mounted as `seqgan-music <name> ...`."""
        return None


def builtin_presets(task: str) -> Traversable:
    return resources.files("seqgan_music").joinpath("presets").joinpath(task)


@dataclass
class TaskEntry:
    """A task found in the entry-point group (not yet imported)."""

    name: str
    value: str
    distribution: str

    def load(self) -> Task:
        try:
            cls = metadata.EntryPoint(self.name, self.value, ENTRY_POINT_GROUP).load()
        except Exception as error:  # a broken plug-in must not break the others
            raise TaskError(
                f"task plug-in {self.name!r} ({self.value}, from {self.distribution}) failed to "
                f"import: {type(error).__name__}: {error}"
            ) from None
        task = cls() if isinstance(cls, type) else cls
        if not isinstance(task, Task):
            raise TaskError(f"task plug-in {self.name!r} ({self.value}) is not a Task subclass")
        return task


def task_entries() -> dict[str, TaskEntry]:
    """Every registered task by name (first registration wins)."""
    found: dict[str, TaskEntry] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(entry, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else "unknown"
        found.setdefault(entry.name, TaskEntry(entry.name, entry.value, dist_name))
    for name, value in BUILTIN_TASKS.items():  # a source tree that was never installed
        found.setdefault(name, TaskEntry(name, value, "seqgan-music"))
    return dict(sorted(found.items()))


def load_task(name: str) -> Task:
    entries = task_entries()
    if name not in entries:
        raise TaskError(f"task {name!r} is unknown; available: {', '.join(entries)}")
    return entries[name].load()


def discover_tasks() -> tuple[dict[str, tuple[Task, TaskEntry]], list[str]]:
    """Load every task; return the loaded ones and one line per plug-in that failed."""
    loaded: dict[str, tuple[Task, TaskEntry]] = {}
    failures: list[str] = []
    for name, entry in task_entries().items():
        try:
            loaded[name] = (entry.load(), entry)
        except TaskError as error:
            failures.append(str(error))
    return loaded, failures


def data_root() -> Path | None:
    """`$SEQGAN_MUSIC_DATA` when set."""
    import os

    value = os.environ.get("SEQGAN_MUSIC_DATA")
    return Path(value).expanduser() if value else None


__all__ = ["FIGURE_LABELS", "Task", "TaskEntry", "TaskOption", "check_task_options",
           "count_option", "fraction_option", "seed_option", "data_root", "discover_tasks",
           "load_task",
           "task_entries", "builtin_presets"]

"""Run directories and checkpoints.

A run directory `runs/<task>/<timestamp>/` holds `config.toml` (the resolved config),
`metrics.jsonl` (one JSON object per logged step), `checkpoints/` and `samples/`.
Checkpoints are plain dicts of tensors and Python scalars, written atomically (temporary file,
then rename) and read with `torch.load(weights_only=True)`: loading never unpickles code.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from seqgan_music.errors import CheckpointError

CHECKPOINT_FORMAT = "seqgan-music-checkpoint"
CHECKPOINT_VERSION = 1


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto `path` only if the block succeeds (for
    writers that want a file name); the file gets the usual permissions, not mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, new_file_mode())
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; rename it onto `path` only if the block succeeds."""
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


def new_file_mode() -> int:
    """The permissions a newly created file gets under the process umask (0644 usually)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def new_run_dir(root: Path, task: str) -> Path:
    """Create `root/<task>/<timestamp>` (suffixed when two runs start in the same second)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = root / task / stamp
    path, i = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{stamp}-{i}")


def latest_run(root: Path, task: str | None = None) -> Path | None:
    """The most recent run directory under `root` (optionally of one task) with a checkpoint."""
    pattern = f"{task}/*/checkpoints/latest.pt" if task else "*/*/checkpoints/latest.pt"
    found = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
    return found[-1].parent.parent if found else None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if value is None:
        return '""'
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dump_toml(values: dict[str, Any]) -> str:
    """Write a nested dict of scalars and lists as TOML (tables after the top-level keys)."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"\n[{prefix}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for key, sub in tables.items():
            emit(sub, f"{prefix}.{key}" if prefix else key)

    emit(values, "")
    return "\n".join(lines).lstrip("\n") + "\n"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` (tensors, numbers, strings, lists, dicts) atomically."""
    import torch

    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)


def load_checkpoint(path: Path, map_location: str = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`, without unpickling code."""
    import pickle
    import warnings

    import torch

    if path.is_dir():
        candidate = path / "checkpoints" / "latest.pt"
        path = candidate if candidate.exists() else path / "latest.pt"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    from seqgan_music.schema import load_error_reason

    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the error below says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as error:
        first = load_error_reason(error)
        raise CheckpointError(
            f"{path} is not a seqgan-music checkpoint (cannot be read safely: {first})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a seqgan-music checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {state.get('version')}; this seqgan-music reads "
            f"version {CHECKPOINT_VERSION}"
        )
    return state


class MetricsLog:
    """Append-only `metrics.jsonl`; `truncate(n)` drops lines past a resumed checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        if path.exists():
            self.count = len(path.read_text(encoding="utf-8").splitlines())

    def append(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        self.count += 1

    def truncate(self, count: int) -> None:
        if not self.path.exists():
            self.count = 0
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()[:count]
        with atomic_write(self.path) as handle:
            handle.write("".join(line + "\n" for line in lines))
        self.count = len(lines)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

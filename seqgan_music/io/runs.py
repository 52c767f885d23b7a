"""Run directories and checkpoints.

A run directory `runs/<task>/<timestamp>/` holds `run.json` (its marker: format, task, whether
training finished), `config.toml` (the resolved config), `metrics.jsonl` (one JSON object per
logged step), `checkpoints/` and `samples/`; runs of older versions, without `run.json`, are
recognised by `config.toml` beside `checkpoints/latest.pt`. A process training in a run holds an
OS lock on its `.lock` file (`run_lock`), released when the process ends however it ends.
Checkpoints are plain dicts of tensors and Python scalars, written atomically (temporary file,
then rename) and read with `torch.load(weights_only=True)`: loading never unpickles code.

Every file this package writes goes through `atomic_path`: a failure of the file system (disk
full, permission denied, a directory in the way) becomes one `FileError` naming the target and
the reason, and leaves neither a temporary file nor a half-written target behind.
"""

from __future__ import annotations

import datetime as _dt
import errno as _errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from seqgan_music.errors import CheckpointError, ConfigError, FileError, SeqganMusicError

CHECKPOINT_FORMAT = "seqgan-music-checkpoint"
CHECKPOINT_VERSION = 1
RUN_MARKER = "run.json"
RUN_FORMAT = "seqgan-music-run"
LOCK_NAME = ".lock"
FINAL_MODEL = "model.safetensors"
FIGURES_FILE = "figures.json"  # the final evaluation table (`app.train.write_figures`)


def file_error(path: Path, error: OSError, action: str = "write") -> FileError:
    """`FileError` "cannot <action> PATH: <reason>" for an OSError met while handling `path`."""
    if isinstance(error, FileError):
        return error
    reason = error.strerror or str(error) or type(error).__name__
    return FileError(f"cannot {action} {path}: {reason}", error.errno)


def _cause(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`error` or the first exception of type `kind` in its chain (libraries such as torch's
    zip writer replace an interrupt or a failed write with their own RuntimeError)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto `path` only if the block succeeds (for
    writers that want a file name); the file gets the usual permissions, not mkstemp's 0600.

    On any failure the temporary file is removed and `path` is left as it was. An interrupt
    (Ctrl-C) stays a KeyboardInterrupt even when the writing library wrapped it; an OSError
    (also one a library wrapped) becomes a `FileError` naming `path`.
    """
    from seqgan_music.io.safe_io import clean_temporaries

    if path.is_dir():
        raise FileError(f"cannot write {path}: it is a directory", _errno.EISDIR)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_temporaries(path.parent, once=True)  # of writes killed before their rename
        # the pid in the name tells a later write whether this one's process is still alive
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=suffix,
                                   dir=path.parent)
        os.close(fd)
    except OSError as error:
        raise file_error(path, error) from None
    try:
        os.chmod(tmp, new_file_mode())
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as error:
        with suppress(OSError):
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, (KeyboardInterrupt, SeqganMusicError)):
            raise
        if _cause(error, KeyboardInterrupt) is not None:
            raise KeyboardInterrupt from None
        failed = _cause(error, OSError)
        if isinstance(failed, OSError):
            raise file_error(path, failed) from None
        raise


@contextmanager
def atomic_write(path: Path, mode: str = "w", durable: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; rename it onto `path` only if the block succeeds.

    `durable`: flushed to the disk before the rename (a crash then leaves the old file or the
    whole new one). Caches that detect and rebuild a damaged entry pass False: the fsync was a
    quarter of the cost of reading a small MIDI file into the corpus cache."""
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())


def check_folder(folder: Path, what: str = "output folder") -> None:
    """Refuse, before any work, a folder that cannot be created or written in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise FileError(f"cannot write in {what} {folder}: {existing} is not a folder",
                        _errno.ENOTDIR)
    if not os.access(existing, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(existing) else "permission denied"
        raise FileError(f"cannot write in {what} {folder}: {reason} ({existing} is not "
                        "writable)", _errno.EACCES)


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False


def check_output(path: Path, force: bool = False) -> None:
    """Refuse, before any work, an output file that cannot be written: a directory (even with
    `force`), an existing file without `force`, or a path whose folder is not writable."""
    if path.is_dir():
        raise FileError(f"output {path} is a directory; pass a file name", _errno.EISDIR)
    if path.exists() and not force:
        raise ConfigError(f"output {path} exists; pass --force to overwrite it")
    check_folder(path.parent)


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
        except OSError as error:
            raise file_error(path, error, "create the run directory") from None


def read_run_marker(run_dir: Path) -> dict[str, Any] | None:
    """The run's `run.json`, or None when there is none or it is not ours (a link, a FIFO or
    anything but a regular file of at most 1 MiB is not ours)."""
    from seqgan_music.io.safe_io import read_bytes

    try:
        info = json.loads(read_bytes(run_dir / RUN_MARKER, limit=1 << 20).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return info if isinstance(info, dict) and info.get("format") == RUN_FORMAT else None


def write_run_marker(run_dir: Path, task: str, finished: bool | None = None) -> None:
    """Mark `run_dir` as a run directory of `task` (keeping when it was created); `finished`
    None keeps the marker's value (a new marker of an older run: whether its final model
    exists)."""
    info = read_run_marker(run_dir) or {
        "format": RUN_FORMAT, "task": task,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "finished": (run_dir / FINAL_MODEL).is_file()}
    if finished is not None:
        info["finished"] = finished
    with atomic_write(run_dir / RUN_MARKER) as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")


def is_run_dir(path: Path) -> bool:
    """Whether `path` is a run directory: its own marker, or (runs of older versions)
    `config.toml` beside `checkpoints/latest.pt`."""
    if not path.is_dir():
        return False
    if (path / RUN_MARKER).exists():
        return read_run_marker(path) is not None
    return (path / "config.toml").is_file() and (path / "checkpoints" / "latest.pt").is_file()


def is_finished(run_dir: Path) -> bool:
    """Whether training of the run finished: its final model is written (and, for runs with a
    marker, the marker says so)."""
    if not (run_dir / FINAL_MODEL).is_file():
        return False
    marker = read_run_marker(run_dir)
    return marker is None or bool(marker.get("finished"))


def resume_target(resume: Path) -> tuple[Path, Path | None]:
    """The checkpoint to continue from `--resume PATH` and the run directory to continue in.

    A run directory continues from its `checkpoints/latest.pt`; a checkpoint inside
    `RUN/checkpoints/` of a run directory continues in RUN; any other checkpoint file gets no
    run directory (None): training goes on in a new one, never beside the stray file.
    """
    if resume.is_dir():
        if resume.name == "checkpoints" and is_run_dir(resume.parent):
            resume = resume.parent
        if not is_run_dir(resume):
            raise CheckpointError(f"--resume {resume} is not a seqgan-music run directory (no "
                                  f"{RUN_MARKER}, or config.toml and checkpoints/latest.pt); "
                                  "pass a run directory or a checkpoint file")
        checkpoint = resume / "checkpoints" / "latest.pt"
        if not checkpoint.is_file():
            raise CheckpointError(f"run {resume} has no checkpoint yet (checkpoints/latest.pt); "
                                  "start a new run instead")
        return checkpoint, resume
    if not resume.is_file():
        raise CheckpointError(f"--resume {resume} does not exist")
    owner = resume.parent.parent
    if resume.parent.name == "checkpoints" and is_run_dir(owner):
        return resume, owner
    return resume, None


def latest_run(root: Path, task: str | None = None, finished: bool = False) -> Path | None:
    """The most recent run directory under `root` (optionally of one task) with a checkpoint;
    with `finished`, the most recent one whose training finished."""
    pattern = f"{task}/*/checkpoints/latest.pt" if task else "*/*/checkpoints/latest.pt"
    runs = [p.parent.parent for p in root.glob(pattern)]
    runs = [r for r in runs if is_run_dir(r) and (not finished or is_finished(r))]

    def newest(run: Path) -> float:
        files = [run / FINAL_MODEL, run / "checkpoints" / "latest.pt"]
        return max(f.stat().st_mtime for f in files if f.exists())

    return max(runs, key=newest) if runs else None


def check_not_in_use(run_dir: Path) -> None:
    """Refuse at once (without writing anything) a run another process is training in."""
    from seqgan_music.io.safe_io import open_regular

    try:
        handle = open_regular(run_dir / LOCK_NAME)  # never blocks on a FIFO
    except OSError:
        return  # never locked, or unreadable: `run_lock` decides
    with handle:
        if not _try_lock(handle):
            raise _in_use(run_dir, handle)


def _in_use(run_dir: Path, handle: IO[Any]) -> CheckpointError:
    with suppress(OSError, ValueError):
        handle.seek(0)
        owner = handle.read()
        owner = (owner.decode("ascii", "replace") if isinstance(owner, bytes) else owner).strip()
        if owner.isdigit():
            return CheckpointError(f"run {run_dir} is in use by another seqgan-music process "
                                   f"(process {owner}); wait for it to finish or stop it first")
    return CheckpointError(f"run {run_dir} is in use by another seqgan-music process; wait for "
                           "it to finish or stop it first")


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold an OS lock on `run_dir` (its `.lock` file) while the block runs; a second process
    gets a `CheckpointError` at once. The OS releases the lock when the process ends, however
    it ends, so a crashed run never stays locked."""
    path = run_dir / LOCK_NAME
    try:  # a regular file of ours: no link followed, no FIFO waited on
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0), 0o644)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileError(f"cannot create the lock file {path}: it is not a regular file",
                            _errno.EINVAL)
        handle = open(fd, "a+", encoding="utf-8")  # noqa: SIM115  (closed below)
    except OSError as error:
        raise file_error(path, error, "create the lock file") from None
    try:
        if not _try_lock(handle):
            raise _in_use(run_dir, handle)
        with suppress(OSError):  # the pid is a courtesy for the message above
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def _try_lock(handle: IO[Any]) -> bool:
    """Take an exclusive, non-blocking lock on an open file; False when another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks (some network mounts): do not block work
        return True
    return True


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
    import warnings

    import torch

    if path.is_dir():
        candidate = path / "checkpoints" / "latest.pt"
        path = candidate if candidate.exists() else path / "latest.pt"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with path.open("rb"):
            pass
    except OSError as error:  # unreadable is not "not a checkpoint"
        raise file_error(path, error, "read") from None
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the error below says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001  (torch's safe unpickler raises many kinds:
        # UnpicklingError, RuntimeError, EOFError, and a KeyError for a text file whose first
        # byte is `h`, read as a pickle opcode): each one means "not a checkpoint"
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
    """Append-only `metrics.jsonl`; `truncate(n)` drops lines past a resumed checkpoint.

    A damaged line (a crash mid-append, an edit) is skipped by `records` and dropped by
    `truncate`, so one bad line never makes a run unfinishable.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = len(self._lines())

    def _lines(self) -> list[bytes]:
        try:
            return self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        except OSError as error:
            raise file_error(self.path, error, "read") from None

    @staticmethod
    def _parse(line: bytes) -> dict[str, Any] | None:
        try:
            record = json.loads(line.decode("utf-8"))
        except ValueError:  # also UnicodeDecodeError
            return None
        return record if isinstance(record, dict) else None

    def append(self, record: dict[str, Any]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError as error:
            raise file_error(self.path, error) from None
        self.count += 1

    def truncate(self, count: int) -> None:
        """Keep the good lines among the first `count` (a checkpoint's count)."""
        if not self.path.exists():
            self.count = 0
            return
        lines = [line for line in self._lines()[:count] if self._parse(line) is not None]
        with atomic_write(self.path, "wb") as handle:
            handle.write(b"".join(line + b"\n" for line in lines))
        self.count = len(lines)

    def records(self) -> list[dict[str, Any]]:
        """Every readable record, in order (damaged lines skipped)."""
        parsed = (self._parse(line) for line in self._lines())
        return [record for record in parsed if record is not None]


def run_dir_of(path: Path) -> Path:
    """The run directory of a run directory or of a checkpoint file in its checkpoints/."""
    return path if path.is_dir() else path.parent.parent


def load_error_reason(error: BaseException) -> str:
    """A one-line reason for a failed safe load, without the library's advice to load unsafely
    (PyTorch's `weights_only=False`, numpy's `allow_pickle`): that would run the file's code."""
    text = " ".join(str(error).split())
    if isinstance(error, (KeyError, IndexError, TypeError, AttributeError)):
        # the unpickler met a byte that is no pickle opcode (a text file starting with `h`)
        return "not a plain PyTorch file of tensors (its bytes are no pickle or zip archive)"
    if "allow_pickle" in text:
        return ("it holds pickled Python objects besides plain arrays, which seqgan-music never "
                "loads (they could run code)")
    if "weights_only" in text or "Weights only load failed" in text:
        detail = text.split("trusted source.", 1)[-1].split("Check the documentation")[0]
        detail = detail.split("WeightsUnpickler error:", 1)[-1].strip() or "unreadable"
        if "global" in detail.lower():
            return (f"it holds pickled Python objects ({detail.rstrip('.')}), which "
                    "seqgan-music never loads (they could run code)")
        return f"not a plain PyTorch file of tensors ({detail.rstrip('.')})"
    first = (str(error).strip().splitlines() or [type(error).__name__])[0].strip()
    return first or type(error).__name__

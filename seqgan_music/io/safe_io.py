"""Guarded file access: one open for every file read on a user's behalf, and exclusive output.

`open_regular` is the only way the studio (and the run-directory readers) open a file: no
symbolic link at the last component (`O_NOFOLLOW`), never a FIFO, socket or device (opened with
`O_NONBLOCK`, then `fstat` must say regular file), and, given a `root`, a path below it walked
one folder at a time without following any link (so no link in a parent folder leads out
either, and none can be swapped in between a check and the open). `read_bytes` / `read_text` add a
size cap. `output_lock` holds an OS lock on an output folder while a set of files is checked and
written there, so two writers never overwrite each other's files; `clean_temporaries` removes
the temporary files of writes whose process died (`io.runs.atomic_path` names them with its pid).
Every refusal is a `FileError` naming the file and why.
"""

from __future__ import annotations

import errno as _errno
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from seqgan_music.errors import FileError

READ_LIMIT = 256 << 20  # bytes read into memory at most, unless a caller says otherwise
# `.NAME.PID-XXXXXXXX.tmp` (this version) or `.NAME.XXXXXXXX.tmp` (mkstemp, older versions)
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[A-Za-z0-9_]{6,}\.tmp$")


def inside(root: Path, path: Path) -> bool:
    """Whether the real path of `path` lies in the real path of `root`."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):
        return False


def open_regular(path: Path, root: Path | None = None) -> BinaryIO:
    """Open `path` for reading in binary mode when it is a regular file (not a link, FIFO,
    socket or device) and, with `root`, inside `root`.

    With `root`, the path is walked from `root` one folder at a time, each opened with
    `O_NOFOLLOW` relative to the last (`dir_fd`): no link anywhere below `root` is followed,
    and nothing can be swapped for a link between a check and the open.

    Raises:
        FileError: "cannot read PATH: why" (the errno of the cause).
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = _open_below(path, root, flags) if root is not None else os.open(path, flags)
    except FileError:
        raise
    except OSError as error:
        if error.errno == _errno.ELOOP:
            raise FileError(f"cannot read {path}: it is a symbolic link", error.errno) from None
        reason = error.strerror or type(error).__name__
        raise FileError(f"cannot read {path}: {reason}", error.errno) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO"
                    if stat.S_ISFIFO(info.st_mode) else "not a regular file")
            raise FileError(f"cannot read {path}: it is {kind}", _errno.EINVAL)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_below(path: Path, root: Path, flags: int) -> int:
    """`os.open(path, flags)` for a path below `root`, no link followed on the way."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    parts = Path(relative).parts
    if not parts or parts[0] == os.pardir or os.path.isabs(relative) or relative == os.curdir:
        raise FileError(f"cannot read {path}: it leads out of {root}", _errno.EACCES)
    if os.open not in os.supports_dir_fd:  # no openat here: the real path must stay inside
        if not inside(root, path):
            raise FileError(f"cannot read {path}: it leads out of {root}", _errno.EACCES)
        return os.open(path, flags)
    folder_flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    current = os.open(root, folder_flags)
    try:
        for part in parts[:-1]:
            try:
                below = os.open(part, folder_flags | getattr(os, "O_NOFOLLOW", 0),
                                dir_fd=current)
            except OSError as error:
                if error.errno in (_errno.ELOOP, _errno.ENOTDIR):
                    raise FileError(f"cannot read {path}: {part} is a symbolic link or not a "
                                    "folder", error.errno) from None
                raise
            os.close(current)
            current = below
        return os.open(parts[-1], flags, dir_fd=current)
    finally:
        os.close(current)


def read_bytes(path: Path, root: Path | None = None, limit: int = READ_LIMIT) -> bytes:
    """The bytes of a regular file (see `open_regular`), refused past `limit` bytes."""
    with open_regular(path, root) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileError(f"cannot read {path}: it is {size:,} bytes, more than the "
                            f"{limit:,} read at most", _errno.EFBIG)
        try:
            data = handle.read(limit + 1)
        except OSError as error:
            raise FileError(f"cannot read {path}: {error.strerror or error}",
                            error.errno) from None
    if len(data) > limit:
        raise FileError(f"cannot read {path}: it grew past {limit:,} bytes", _errno.EFBIG)
    return data


def read_text(path: Path, root: Path | None = None, limit: int = READ_LIMIT) -> str:
    """`read_bytes` decoded as UTF-8 (undecodable bytes replaced)."""
    return read_bytes(path, root, limit).decode("utf-8", errors="replace")


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows: os.kill(pid, 0) would end it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: assume it may still be writing
    return True


_CLEANED: set[str] = set()  # folders `clean_temporaries(once=True)` has looked at


def clean_temporaries(folder: Path, every: bool = False, once: bool = False) -> list[Path]:
    """Remove the temporary files (`.NAME.PID-XXXX.tmp`) left in `folder` by writes whose
    process is gone; with `every` (the caller holds the folder's lock: a resume under its run
    lock), also those of older versions, which name no process; with `once`, only the first
    time this process asks about `folder` (a write of 1,000 tunes looks once). Returns what
    was removed."""
    removed: list[Path] = []
    if once:
        key = os.path.abspath(folder)
        if key in _CLEANED:
            return removed
        _CLEANED.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        found = TEMPORARY.match(entry.name)
        if found is None:
            continue
        pid = found.group("pid")
        stale = (every and (pid is None or int(pid) != os.getpid())) or \
            (pid is not None and not _alive(int(pid)))
        with suppress(OSError):
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextmanager
def output_lock(folder: Path, what: str = "output folder") -> Iterator[None]:
    """Hold an exclusive OS lock on `folder` while the block checks and writes its set of
    files; a second writer gets a `FileError` at once, never a silent overwrite. The lock is
    on the folder itself: nothing is left behind (a folder made for the lock is removed again
    when the block fails and it is still empty), and the OS releases it when the process
    ends, however it ends."""
    made = _make_folders(folder, what)
    failed = True
    try:
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            raise FileError(f"cannot write in {what} {folder}: {error.strerror or error}",
                            error.errno) from None
        try:
            _lock_folder(fd, folder, what)
            yield
            failed = False
        finally:
            os.close(fd)  # closing releases the lock
    finally:
        if failed:
            for made_folder in reversed(made):
                with suppress(OSError):
                    made_folder.rmdir()  # only when empty


def _make_folders(folder: Path, what: str) -> list[Path]:
    """Create `folder` and its missing parents; the ones made, outermost first."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FileError(f"cannot write in {what} {folder}: {error.strerror or error}",
                        error.errno) from None
    return list(reversed(missing))


def _lock_folder(fd: int, folder: Path, what: str) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no folder locks
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FileError(f"{what} {folder} is being written by another seqgan-music process; "
                        "wait for it to finish or choose another --out", _errno.EBUSY) from None
    except OSError:
        pass  # a file system without locks: do not block the work

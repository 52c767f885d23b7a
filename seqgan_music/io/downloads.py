"""Where data lives, and verified, atomic downloads of public archives.

`cache_dir()` is `$SEQGAN_MUSIC_CACHE`, else the platform's cache folder (XDG on Linux,
~/Library/Caches on macOS, %LOCALAPPDATA% on Windows) + `seqgan-music`.

`download_archive` fetches a zip or tar archive, checks every file it keeps against SHA-256
sums recorded in the package, refuses members that would land outside the target (absolute
paths, `..`, links), extracts into a temporary folder beside the target and renames it into
place only when everything is verified: a failed or interrupted download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from seqgan_music.errors import DataError, FileError

COMPLETE_MARKER = ".seqgan-music-complete"
USER_AGENT = "seqgan-music (https://pypi.org/project/seqgan-music)"


def cache_dir() -> Path:
    """The user's cache folder for seqgan-music (not created here)."""
    override = os.environ.get("SEQGAN_MUSIC_CACHE")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "seqgan-music" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "seqgan-music"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "seqgan-music"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sums(text: str) -> dict[str, str]:
    """`sha256sum` output ("<hex>  <path>" lines) as {path: hex}."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


@dataclass(frozen=True)
class Archive:
    """A public archive and the files to keep from it.

    Attributes:
        name: folder name under the target root (e.g. "nottingham").
        urls: tried in order until one answers.
        sums: {relative path: SHA-256} of every file kept; other members are ignored.
        strip_top: drop the single top-level folder that GitHub archives wrap everything in.
        size_hint: human-readable size for messages ("7 MB").
        homepage: where a user can fetch the data by hand.
    """

    name: str
    urls: tuple[str, ...]
    sums: dict[str, str]
    strip_top: bool = True
    size_hint: str = ""
    homepage: str = ""


def is_complete(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).is_file()


def download_archive(
    archive: Archive,
    root: Path | None = None,
    force: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and extract `archive` into `root/archive.name`; return that folder.

    An already complete folder is returned as is unless `force`. `progress(done, total)` is
    called as bytes arrive (total None when the server does not say).
    """
    target = (root or cache_dir()) / archive.name
    if is_complete(target) and not force:
        return target
    with _installing(target) as staging:
        blob = staging.parent / "archive"
        errors = []
        for url in archive.urls:
            try:
                _fetch(url, blob, progress, timeout)
                break
            except FileError:
                raise
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", None) or error
                errors.append(f"{url}: {reason}")
        else:
            hint = f" (or fetch {archive.homepage} by hand)" if archive.homepage else ""
            raise DataError(
                f"could not download the {archive.name} data: {'; '.join(errors)}. If this "
                f"machine is offline, pass --data PATH pointing at a local copy{hint}"
            )
        _extract_verified(blob, staging, archive)
        _mark_complete(staging, "verified against the recorded SHA-256 sums")
    return target


@contextmanager
def _installing(target: Path) -> Iterator[Path]:
    """An empty staging folder beside `target`, moved onto it only if the block succeeds; a
    failure or interruption leaves `target` as it was and no partial files behind."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the data folder {target.parent}: {error.strerror}") \
            from None
    try:
        with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as work:
            staging = Path(work) / target.name
            staging.mkdir()
            yield staging
            if target.exists():
                target.rename(Path(work) / "previous")  # removed with the temporary folder
            staging.rename(target)
    except OSError as error:  # disk full, permission denied: name the folder, not the staging
        reason = str(error) if isinstance(error, FileError) else error.strerror or str(error)
        raise FileError(f"cannot write the {target.name} data in {target.parent}: {reason}",
                        error.errno) from None


def _mark_complete(folder: Path, note: str) -> None:
    (folder / COMPLETE_MARKER).write_text(note + "\n", encoding="utf-8")


def _fetch(url: str, path: Path, progress: Callable[[int, int | None], None] | None,
           timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response, path.open("wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        while block := response.read(1 << 16):
            _write(out, block)
            done += len(block)
            if progress is not None:
                progress(done, total)


def _write(out: IO[bytes], block: bytes) -> None:
    """Write to a staging file; a failure is the disk's, not the download's or the archive's."""
    try:
        out.write(block)
    except OSError as error:
        raise FileError(error.strerror or str(error), error.errno) from None


def _safe_relative(name: str, strip_top: bool) -> PurePosixPath | None:
    """The member's path inside the target, None for the top folder itself; raises on escapes."""
    raw = name.replace("\\", "/")
    path = PurePosixPath(raw)
    if path.is_absolute() or ".." in path.parts or (len(raw) > 1 and raw[1] == ":"):
        raise DataError(f"archive member {name!r} would be written outside the target folder; "
                        "the archive is refused")
    parts = path.parts[1:] if strip_top else path.parts
    return PurePosixPath(*parts) if parts else None


def _members(blob: Path) -> Iterator[tuple[str, bool, Callable[[], IO[bytes]]]]:
    """(name, is_plain_file, opener) for each member of a zip or tar archive."""
    if zipfile.is_zipfile(blob):
        with zipfile.ZipFile(blob) as zf:
            for info in zf.infolist():
                is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
                yield info.filename, not info.is_dir() and not is_link, partial(zf.open, info)
        return
    try:
        tf = tarfile.open(blob)  # noqa: SIM115 (closed by the with block below)
    except tarfile.TarError:
        raise DataError("the download is neither a zip nor a tar archive") from None
    with tf:
        for member in tf:
            opener = partial(tf.extractfile, member)
            yield member.name, member.isfile(), opener  # type: ignore[misc]


def _extract_verified(blob: Path, staging: Path, archive: Archive) -> None:
    wanted = dict(archive.sums)
    try:
        for name, is_file, opener in _members(blob):
            relative = _safe_relative(name, archive.strip_top)
            if relative is None or not is_file:
                continue
            key = relative.as_posix()
            expected = wanted.pop(key, None)
            if expected is None:
                continue  # not part of the data set we keep
            out_path = staging.joinpath(*relative.parts)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with opener() as source, out_path.open("wb") as out:
                while block := source.read(1 << 16):
                    digest.update(block)
                    _write(out, block)
            if digest.hexdigest() != expected:
                raise DataError(f"{archive.name} file {key} failed its SHA-256 check (expected "
                                f"{expected[:12]}..., got {digest.hexdigest()[:12]}...); the "
                                "download is discarded")
    except FileError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"the {archive.name} archive is damaged: {error}") from None
    if wanted:
        missing = sorted(wanted)
        raise DataError(f"the {archive.name} archive lacks {len(missing)} expected file(s), "
                        f"e.g. {missing[0]}; the download is discarded")


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: where from, where to (relative), and how to verify it.

    `sha256` is checked when recorded; else `git_blob_sha1` (git's object id of the file, what a
    repository listing shows) is; a file with neither is fetched unverified and said so.
    """

    url: str
    path: str
    sha256: str | None = None
    git_blob_sha1: str | None = None


def download_files(name: str, files: tuple[RemoteFile, ...], root: Path | None = None,
                   force: bool = False, progress: Callable[[int, int | None], None] | None = None,
                   timeout: float = 60.0) -> tuple[Path, list[str]]:
    """Fetch `files` into `root/name` atomically; returns the folder and the unverified files."""
    target = (root or cache_dir()) / name
    if is_complete(target) and not force:
        return target, []
    unverified: list[str] = []
    with _installing(target) as staging:
        for remote in files:
            out = staging.joinpath(*_safe_relative(remote.path, False).parts)  # type: ignore[union-attr]
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                _fetch(remote.url, out, progress, timeout)
            except FileError:
                raise
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", None) or error
                raise DataError(
                    f"could not download the {name} data ({remote.url}: {reason}). If this "
                    "machine is offline, pass --data PATH pointing at a local copy"
                ) from None
            data = out.read_bytes()
            if remote.sha256 is not None:
                got = hashlib.sha256(data).hexdigest()
                ok, expected = got == remote.sha256, remote.sha256
            elif remote.git_blob_sha1 is not None:
                got = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324
                ok, expected = got == remote.git_blob_sha1, remote.git_blob_sha1
            else:
                ok, expected, got = True, "", ""
                unverified.append(remote.path)
            if not ok:
                raise DataError(f"{name} file {remote.path} failed its checksum (expected "
                                f"{expected[:12]}..., got {got[:12]}...); nothing was kept")
        _mark_complete(staging, "verified against the recorded checksums"
                       + (f"; unverified: {', '.join(unverified)}" if unverified else ""))
    return target, unverified

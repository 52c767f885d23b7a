"""Which files a page's request may name: runs, models, uploads and primers by id, read through
`safe_io`'s guarded open (regular files inside the runs folder, no links, no `..`), and the
type check of an upload by its suffix and first bytes."""

from __future__ import annotations

import errno
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from seqgan_music.io import safe_io
from seqgan_music.studio import adapter
from seqgan_music.studio.state import Refused, Studio

PRIMER_BYTES = 1 << 20  # 1 MiB: thousands of bars of MIDI or ABC
MODEL_BYTES = 64 << 20
UPLOAD_KINDS = {"primer": ((".mid", ".midi", ".abc"), PRIMER_BYTES),
                "model": ((".safetensors", ".pt"), MODEL_BYTES)}
MAX_ID = 512  # characters of a run id, a model id or a file name from the page


def static_dir() -> Path:
    return Path(str(resources.files("seqgan_music").joinpath("studio").joinpath("static")))


def safe_child(root: Path, relative: str, what: str) -> Path:
    """`root / relative` when it stays inside `root` (no `..`, no absolute path, no link out)."""
    if not relative or "\\" in relative or "\x00" in relative or len(relative) > MAX_ID:
        raise Refused(400, f"{what} {relative[:MAX_ID]!r} is not a valid name (at most "
                      f"{MAX_ID} characters)")
    parts = PurePosixPath(relative)
    if parts.is_absolute() or any(p in ("..", ".", "") for p in parts.parts) or \
            relative.startswith("/"):
        raise Refused(403, f"{what} {relative!r} is refused: only names inside the runs folder "
                      "are readable (no '..', no absolute path)")
    candidate = root.joinpath(*parts.parts)
    try:
        inside = candidate.resolve().is_relative_to(root.resolve())
    except OSError:
        inside = False
    if not inside:
        raise Refused(403, f"{what} {relative!r} is refused: it leads out of the runs folder")
    try:
        candidate.lstat()
    except OSError as error:  # absent, a name too long (ENAMETOOLONG), a folder not readable
        if error.errno not in (errno.ENOENT, errno.ENAMETOOLONG, errno.ENOTDIR):
            raise Refused(403, f"{what} {relative!r} cannot be read") from None
        raise Refused(404, f"{what} {relative!r} does not exist") from None
    return candidate


def run_path(studio: Studio, run_id: str) -> Path:
    path = safe_child(studio.runs, run_id, "run")
    if len(PurePosixPath(run_id).parts) != 2 or not adapter.is_run(path):
        raise Refused(404, f"run {run_id!r} is not a run directory (expected TASK/STAMP)")
    return path


def model_path(studio: Studio, model_id: str) -> Path:
    kind, _, name = model_id.partition(":")
    if kind == "shipped":
        return adapter.shipped_path(name)
    if kind == "run":
        path = run_path(studio, name)
        for weights in (path / "model.safetensors", path / "checkpoints" / "latest.pt"):
            if weights.is_symlink() or weights.exists():  # what compose would read
                try:
                    safe_io.open_regular(weights, studio.runs).close()
                except OSError as error:
                    raise Refused(403, f"model {model_id!r} is refused: "
                                  f"{str(error).split(': ', 1)[-1]}") from None
        return path
    if kind == "upload":
        found = studio.uploads.get(name)
        if found is None or found[0] != "model":
            raise Refused(404, f"uploaded model {name!r} is unknown (upload it again)")
        return found[1]
    raise Refused(400, f"model {model_id!r} is invalid; expected shipped:NAME, run:TASK/STAMP or "
                  "upload:ID")


def clean_name(name: str) -> str:
    """A file name safe to write in the uploads folder (letters, digits, `._-` kept)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).lstrip(".")
    return cleaned[:100] or "upload"


def check_upload(kind: str, name: str, data: bytes) -> None:
    """Type-check an upload by its suffix and its first bytes."""
    suffixes, _ = UPLOAD_KINDS[kind]
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise Refused(415, f"{name!r} is not accepted as a {kind}; accepted: "
                      f"{', '.join(suffixes)}")
    if suffix in (".mid", ".midi") and not data.startswith(b"MThd"):
        raise Refused(415, f"{name} is not a MIDI file (it does not start with MThd)")
    if suffix == ".abc":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(415, f"{name} is not an ABC text file (not UTF-8 text)") from None
        if "K:" not in text:
            raise Refused(415, f"{name} is not an ABC tune (no K: key line)")
    if suffix == ".safetensors":
        size = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
        if not (0 < size < len(data) and data[8:9] == b"{"):
            raise Refused(415, f"{name} is not a safetensors file")
    if suffix == ".pt" and not data.startswith(b"PK"):
        raise Refused(415, f"{name} is not a torch checkpoint (a zip file)")


def guarded(studio: Studio, target: Path, name: str, limit: int) -> bytes:
    """A run's file through the guarded open: a regular file inside the runs folder."""
    try:
        return safe_io.read_bytes(target, root=studio.runs, limit=limit)
    except OSError as error:
        status = 404 if error.errno == errno.ENOENT else 403
        raise Refused(status, f"file {name!r} is refused: {str(error).split(': ', 1)[-1]}"
                      ) from None


def media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    return {".mid": "audio/midi", ".txt": "text/plain; charset=utf-8",
            ".json": "application/json", ".jsonl": "text/plain; charset=utf-8",
            ".toml": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8"
            }.get(suffix, "application/octet-stream")


def primer_path(studio: Studio, primer: Any) -> Path | None:
    """A primer named by the page: an upload (`upload:ID`) or a composed tune (`tune:ID`)."""
    if not primer:
        return None
    kind, _, key = str(primer).partition(":")
    if kind == "upload":
        found = studio.uploads.get(key)
        if found is None or found[0] != "primer":
            raise Refused(404, f"primer upload {key!r} is unknown (upload it again)")
        return found[1]
    if kind == "tune":
        tune = studio.tunes.get(key)
        if tune is None:
            raise Refused(404, f"tune {key!r} is unknown in this studio session")
        return tune.tune.midi
    raise Refused(400, f"primer {primer!r} is invalid; expected upload:ID or tune:ID")

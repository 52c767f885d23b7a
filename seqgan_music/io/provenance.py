"""What made a run: the `provenance` list in its `run.json`, one entry per start or resume.

Each entry records the command line (or the Python call), the preset, method and `--set`
overrides, the number of processes, the device, the versions of seqgan-music, torch, numpy and
Python, and the git commit of the source tree when the package runs from a git checkout. A 1-
and a 2-process run of one seed, or a run before and after a code change, are told apart here.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

PROVENANCE_KEY = "provenance"


def git_commit(folder: Path | None = None) -> dict[str, Any] | None:
    """The commit of the git checkout holding `folder` (default: this package's source) and
    whether its tracked files differ from it; None outside a checkout or without git."""
    source = folder or Path(__file__).resolve().parents[2]  # the checkout holding the package
    if not any((p / ".git").exists() for p in (source, *source.parents)):
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=source, capture_output=True, text=True, timeout=10,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())} if commit else None


def describe_device(device: Any) -> str:
    """e.g. "cpu (x86_64)" or "cuda:0 (NVIDIA H200)"."""
    text = str(device)
    if text.startswith("cuda"):
        import torch

        try:
            return f"{text} ({torch.cuda.get_device_name(device)})"
        except (RuntimeError, AssertionError, ValueError):
            return text
    return f"{text} ({platform.machine() or 'unknown CPU'})"


def collect(*, preset: str | None, method: str, overrides: list[str] | None,
            config_file: Path | None, seed: int | None, resume: Path | None, processes: int,
            device: Any, threads: Any = None, argv: list[str] | None = None) -> dict[str, Any]:
    """One provenance entry for a start (or resume) of training."""
    import numpy
    import torch

    from seqgan_music._version import __version__

    args = list(sys.argv if argv is None else argv)
    program = Path(args[0]).name if args else ""
    if program in ("seqgan-music", "__main__.py", "-m"):
        command = shlex.join(["seqgan-music", *args[1:]])
    else:
        command = f"{shlex.join(args)} (Python; seqgan_music.train or pipeline.train)"
    entry: dict[str, Any] = {
        "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "preset": None if resume is not None else preset,
        "method": method,
        "overrides": list(overrides or []),
        "config_file": str(config_file) if config_file is not None else None,
        "seed": seed,
        "resume": str(resume) if resume is not None else None,
        "processes": int(processes),
        "device": describe_device(device),
        "threads": threads,
        "versions": {"seqgan-music": __version__, "torch": torch.__version__,
                     "numpy": numpy.__version__, "python": platform.python_version()},
        "platform": platform.platform(terse=True),
        "git": git_commit(),
    }
    return entry


def record(run_dir: Path, entry: dict[str, Any]) -> None:
    """Append `entry` to the run's `run.json` provenance list (atomically)."""
    from seqgan_music.io.runs import RUN_MARKER, atomic_write, read_run_marker

    info = read_run_marker(run_dir)
    if info is None:
        return  # not our marker: nothing to add to
    history = info.get(PROVENANCE_KEY)
    info[PROVENANCE_KEY] = [*(history if isinstance(history, list) else []), entry]
    with atomic_write(run_dir / RUN_MARKER) as handle:
        json.dump(info, handle, indent=2)
        handle.write("\n")


def recorded_preset(info: dict[str, Any] | None) -> str | None:
    """The preset the run was started with, from its run.json provenance (None: unknown)."""
    history = (info or {}).get(PROVENANCE_KEY)
    if isinstance(history, list):
        for entry in history:
            if isinstance(entry, dict) and entry.get("preset"):
                return str(entry["preset"])
    return None

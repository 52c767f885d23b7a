"""Training jobs of the studio: the CLI's own `train` in a child process (`TrainingJobs`).

The child runs in its own session (so closing the page, or even stopping the studio, does not
stop it) with its output, the CLI's plain progress lines, captured to a log; once training has
made its run directory the log is copied there as `train.log` when the job ends (until then
it is `RUNS/.studio/train-STAMP.log`). Progress is
read from that log (phase, step/total, figures) and the run's lock says whether it still runs.
One studio runs at most one training at a time; a run locked by another process counts too.
Two studios on one runs folder share `RUNS/.studio/train.lock`: the studio that starts a
training takes it and hands it to the child too (an inherited descriptor), so it is held
exactly as long as the training runs, even past the studio's own end, and another studio is
refused meanwhile. A job's run directory is the one whose `.lock` names the child's process
id, so logs never cross between studios.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import signal
import subprocess
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.errors import ConfigError
from seqgan_music.io import safe_io
from seqgan_music.studio import adapter

# "MLE pre-training 2/4  G loss 7.866  NLL valid 8.043  elapsed 0:07  ETA 0:07"
STEP_LINE = re.compile(r"^(?P<phase>.+?) (?P<done>\d+)/(?P<total>\d+)(?P<rest>.*)$")
START_LINE = re.compile(r"^(?P<phase>[^:]+): (?P<total>\d+) steps?$")
# Lines of the CLI that may hold "n/m" but are no progress (e.g. "data: 1034 tunes, 3886/501").
NOT_PROGRESS = ("note:", "warning:", "error:", "data:", "run directory:", "figures on", "model:")
CANCEL_GRACE = 20.0  # seconds between the interrupt and a hard stop


@dataclass
class Job:
    """One training process and what the page shows of it."""

    argv: list[str]
    task: str
    preset: str
    method: str
    log: Path
    process: subprocess.Popen[bytes]
    started: str
    started_at: float
    known: set[Path] = field(default_factory=set)  # run dirs that existed before the start
    run_dir: Path | None = None
    cancelled: bool = False
    copied: bool = False
    lock: int | None = None  # descriptor of RUNS/.studio/train.lock, held while it runs


class TrainingJobs:
    """Start, watch and cancel the studio's training (one at a time)."""

    def __init__(self, runs: Path, work: Path, overrides: list[str] | None = None) -> None:
        self.runs = runs
        self.work = work
        self.overrides = list(overrides or [])
        self.job: Job | None = None
        self.presets: dict[str, str] = {}  # run id -> preset, for runs this studio started
        self._lock = threading.Lock()

    def busy(self) -> str | None:
        """Why a new training cannot start now, or None."""
        if self.job is not None and self.job.process.poll() is None:
            return (f"a training ({self.job.task}, preset {self.job.preset}) is already running "
                    "in this studio; one studio trains one model at a time: wait for it or "
                    "cancel it")
        self._release()
        for run_dir in adapter.find_runs(self.runs):
            if adapter.run_state(run_dir) == "running":
                return (f"run {run_dir.relative_to(self.runs).as_posix()} is training in another "
                        "process; one studio trains one model at a time")
        return None

    def start(self, *, task: str, preset: str, method: str, data: Path | None, seed: int | None,
              resume: Path | None = None) -> Job:
        with self._lock:
            why = self.busy()
            if why:
                raise ConfigError(why)
            if resume is None:
                adapter.check_train_request(task=task, preset=preset, method=method)
            argv = adapter.train_argv(task=task, preset=preset, method=method, runs=self.runs,
                                      data=data, seed=seed, resume=resume,
                                      overrides=self.overrides)
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            logs = self.runs / ".studio"  # beside the runs: outlives the studio's temp folder
            logs.mkdir(parents=True, exist_ok=True)
            lock = _take_lock(logs / "train.lock")
            try:
                log = logs / f"train-{stamp}.log"
                env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120",
                       "NO_COLOR": "1"}
                known = (set((self.runs / task).glob("*")) if (self.runs / task).is_dir()
                         else set())
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | getattr(os, "O_NOFOLLOW", 0), 0o644)
                with open(fd, "wb") as out:
                    process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL, env=env,
                                               start_new_session=True,
                                               pass_fds=(lock,) if lock is not None else ())
            except BaseException:
                if lock is not None:
                    os.close(lock)
                raise
            self.job = Job(argv, task, preset, method, log, process,
                           _dt.datetime.now().isoformat(timespec="seconds"), time.monotonic(),
                           known, resume, lock=lock)
            return self.job

    def _release(self) -> None:
        """Close this studio's copy of the training lock once its training has ended."""
        job = self.job
        if job is not None and job.lock is not None and job.process.poll() is not None:
            with suppress(OSError):
                os.close(job.lock)
            job.lock = None

    def close(self) -> None:
        """At the studio's end: its copy of the lock goes (a running child keeps its own)."""
        job = self.job
        if job is not None and job.lock is not None:
            with suppress(OSError):
                os.close(job.lock)
            job.lock = None

    def cancel(self) -> bool:
        """Interrupt the running training like Ctrl-C (its last checkpoint stays resumable)."""
        job = self.job
        if job is None or job.process.poll() is not None:
            return False
        job.cancelled = True
        with suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):  # the CLI sees Ctrl-C: it stops and says how to resume
                os.killpg(job.process.pid, signal.SIGINT)
            else:  # Windows: no process groups of this kind
                job.process.terminate()
        threading.Thread(target=self._stop_later, args=(job,), daemon=True).start()
        return True

    @staticmethod
    def _stop_later(job: Job) -> None:
        try:
            job.process.wait(CANCEL_GRACE)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError, PermissionError):
                job.process.terminate()

    def _find_run_dir(self, job: Job) -> Path | None:
        """The new run directory whose lock names this job's process (never another
        studio's or another command's run)."""
        if job.run_dir is not None:
            return job.run_dir
        folder = self.runs / job.task
        if folder.is_dir():
            for candidate in folder.glob("*"):
                if candidate in job.known or candidate.is_symlink():
                    continue
                try:
                    owner = safe_io.read_bytes(candidate / ".lock", limit=64).strip()
                except OSError:
                    continue
                if owner == str(job.process.pid).encode():
                    job.run_dir = candidate
                    self.presets[candidate.relative_to(self.runs).as_posix()] = job.preset
                    break
        return job.run_dir

    def status(self) -> dict[str, Any]:
        """What the train page shows: state, phase, step/total, figures, the log's tail."""
        job = self.job
        if job is None:
            return {"state": "idle", "busy": self.busy()}
        code = job.process.poll()
        run_dir = self._find_run_dir(job)
        lines = _read_lines(job.log)
        state = "running" if code is None else (
            "finished" if code == 0 else "cancelled" if job.cancelled else "failed")
        if code is not None:
            self._release()
        if code is not None and run_dir is not None and not job.copied:
            job.copied = True
            with suppress(OSError):  # replaces a link there, never writes through it
                from seqgan_music.io.runs import atomic_write

                with atomic_write(run_dir / "train.log", "wb") as handle:
                    handle.write(safe_io.read_bytes(job.log))
        progress = parse_progress(lines)
        errors = [line[len("error: "):] for line in lines if line.startswith("error: ")]
        return {"state": state, "task": job.task, "preset": job.preset, "method": job.method,
                "started": job.started, "elapsed": round(time.monotonic() - job.started_at, 1),
                "exit_code": code, "command": " ".join(["seqgan-music", *job.argv[3:]]),
                "run": run_dir.relative_to(self.runs).as_posix() if run_dir else None,
                "error": errors[-1] if errors else None, "log": lines[-30:], **progress,
                "busy": self.busy() if code is not None else None}


def parse_progress(lines: list[str]) -> dict[str, Any]:
    """The latest phase, step, total and figures from the CLI's plain progress lines."""
    phase, done, total, figures = "", 0, 0, ""
    for line in lines:
        started = START_LINE.match(line)
        if started:
            phase, done, total, figures = started["phase"], 0, int(started["total"]), ""
            continue
        step = STEP_LINE.match(line)
        if step and not line.startswith(NOT_PROGRESS):
            phase, done, total = step["phase"], int(step["done"]), int(step["total"])
            figures = step["rest"].strip() or figures
    return {"phase": phase, "done": done, "total": total, "figures": figures}


def _read_lines(path: Path) -> list[str]:
    try:
        return safe_io.read_text(path, limit=256 << 20).splitlines()
    except OSError:
        return []


def _take_lock(path: Path) -> int | None:
    """An exclusive lock on `path` (a descriptor), or ConfigError when another studio trains
    in this runs folder; None where the OS has no such locks."""
    try:
        import fcntl
    except ImportError:  # Windows: the run lock alone
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as error:
        raise ConfigError(f"cannot create the studio's training lock {path}: "
                          f"{error.strerror or error}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError("another studio (or its training) is training in this runs folder; "
                          "one training at a time per runs folder: wait for it or cancel it "
                          "there") from None
    except OSError:
        pass  # a file system without locks: the run lock still guards each run
    return fd

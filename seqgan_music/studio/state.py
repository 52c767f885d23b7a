"""The state of one studio launch (`Studio`): its token, folders, uploads, composed tunes,
training jobs and the bounded pool that composes and renders; `Refused`, the clear 4xx (or 503)
answer every part of the studio raises."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqgan_music.studio import adapter
from seqgan_music.studio.jobs import TrainingJobs

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_QUEUED = 4  # composes and renderings waiting or running; more are answered 503


class Refused(Exception):
    """A request the studio answers with a clear message and a 4xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ComposedTune:
    id: str
    tune: adapter.Tune
    options: dict[str, Any]
    index: int  # which tune of its compose call, from 1
    num: int
    musicxml: Path | None = None


@dataclass
class Studio:
    """The state of one studio launch: token, folders, uploads, composed tunes, training."""

    runs: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    hosts: tuple[str, ...] = LOOPBACK  # Host header names accepted; empty: any (--host 0.0.0.0)
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="seqgan-studio-")))
    train_overrides: list[str] = field(default_factory=list)
    uploads: dict[str, tuple[str, Path]] = field(default_factory=dict)  # id -> (kind, path)
    tunes: dict[str, ComposedTune] = field(default_factory=dict)
    counter: int = 0
    # Cookies are shared by every port of a host: a name per launch keeps two studios apart.
    cookie: str = field(default_factory=lambda: f"seqgan_studio_{secrets.token_hex(4)}")
    compose_lock: threading.Lock = field(default_factory=threading.Lock)
    # sent by the page in X-Studio-CSRF on every POST; never in a cookie
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    uploaded_bytes: int = 0
    jobs: TrainingJobs = field(init=False)
    pool: ThreadPoolExecutor = field(init=False)  # composes and renderings, one at a time
    queued: int = 0  # calls in `pool`, waiting or running
    queue_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.jobs = TrainingJobs(self.runs, self.work, self.train_overrides)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-work")

    async def work_slot(self, call: Callable[[], Any]) -> Any:
        """Run blocking work (compose, MusicXML, previews) in the studio's own pool, so the
        listing routes, on asyncio's default pool, never wait behind it; 503 when
        `MAX_QUEUED` calls are already waiting or running."""
        with self.queue_lock:
            if self.queued >= MAX_QUEUED:
                raise Refused(503, f"the studio is busy with {self.queued} composes or "
                              "renderings; try again when they are done")
            self.queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, call)
        finally:
            with self.queue_lock:
                self.queued -= 1

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.jobs.close()
        shutil.rmtree(self.work, ignore_errors=True)

"""Progress of the training phases (a `trainer.loop.Reporter`) for the command line.

`RichReporter` draws live rich bars on a terminal; when the output is not a terminal (piped,
redirected to a log, run under nohup or CI) it prints one plain, flushed line per epoch or
iteration instead: phase, step/total, the losses, elapsed time and ETA, titles never cut.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PHASE_TITLES = {
    "mle": "MLE pre-training",
    "d_pretrain": "D pre-training",
    "adversarial": "adversarial training",
    "pg_bleu": "PG-BLEU",
    "scheduled_sampling": "scheduled sampling",
    "read_data": "reading music files",
    "sample": "sampling",
    "write": "writing files",
}
SHOWN = ("g_loss", "d_loss", "d_accuracy", "reward", "nll_oracle", "nll_valid", "bleu4", "mse")
PLAIN_LINES_PER_QUIET_PHASE = 10  # steps without figures (files read): a line every 10%


def format_seconds(seconds: float) -> str:
    """`1:02:03` or `2:03` for a duration in seconds."""
    whole = max(int(round(seconds)), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_record(record: dict[str, Any]) -> str:
    """The figures of one step the progress shows, e.g. `g_loss 1.234  nll_valid 2.031`."""
    from seqgan_music.tasks import FIGURE_LABELS

    return "  ".join(f"{FIGURE_LABELS.get(k, k)} {record[k]:.3f}" for k in SHOWN if k in record)


class PlainPhase:
    """Counts and times one phase for the plain lines."""

    def __init__(self, title: str, total: int, done: int) -> None:
        self.title = title
        self.total = max(total, 1)
        self.start_done = done
        self.done = done
        self.started = time.monotonic()

    def line(self, record: dict[str, Any]) -> str:
        elapsed = time.monotonic() - self.started
        stepped = self.done - self.start_done
        eta = elapsed / stepped * (self.total - self.done) if stepped else 0.0
        parts = [f"{self.title} {self.done}/{self.total}", format_record(record),
                 f"elapsed {format_seconds(elapsed)}", f"ETA {format_seconds(eta)}"]
        return "  ".join(p for p in parts if p)


class RichReporter:
    """Live bars on a terminal, plain lines otherwise (see the module docstring)."""

    def __init__(self, console: Console, plain: bool | None = None,
                 transient: bool = False) -> None:
        self.console = console
        self.plain = not console.is_terminal if plain is None else plain
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console, transient=transient,
        )
        self.tasks: dict[str, TaskID] = {}
        self.phases: dict[str, PlainPhase] = {}
        self.method = ""

    def __enter__(self) -> RichReporter:
        if not self.plain:
            self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self.plain:
            self.progress.stop()

    def note(self, text: str) -> None:
        """One line about the run (a derived setting, a smoke-test preset), never cut."""
        if self.plain:
            self._print(f"note: {text}")
        else:
            self.progress.console.print(f"note: {text}", markup=False, highlight=False)

    def phase(self, name: str, total: int, done: int) -> None:
        title = PHASE_TITLES.get(name, name)
        if self.plain:
            self.phases[name] = PlainPhase(title, total, done)
            steps = max(total, 1)
            self._print(f"{title}: {done}/{steps} done at the start" if done else
                        f"{title}: {steps} step{'s' if steps > 1 else ''}")
            return
        self.tasks[name] = self.progress.add_task(title, total=max(total, 1), completed=done,
                                                  info="")

    def advance(self, name: str, record: dict[str, Any]) -> None:
        if self.plain:
            phase = self.phases[name]
            phase.done += 1
            every = max(phase.total // PLAIN_LINES_PER_QUIET_PHASE, 1)
            if format_record(record) or phase.done % every == 0 or phase.done >= phase.total:
                self._print(phase.line(record))
            return
        self.progress.update(self.tasks[name], advance=1, info=format_record(record))

    def _print(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        self.console.file.flush()

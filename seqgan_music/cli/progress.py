"""Rich progress bars for the training phases (a `training.Reporter`)."""

from __future__ import annotations

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


class RichReporter:
    def __init__(self, console: Console, transient: bool = False) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console, transient=transient,
        )
        self.tasks: dict[str, TaskID] = {}
        self.method = ""

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.progress.stop()

    def phase(self, name: str, total: int, done: int) -> None:
        title = PHASE_TITLES.get(name, name)
        self.tasks[name] = self.progress.add_task(title, total=max(total, 1), completed=done,
                                                  info="")

    def note(self, message: str) -> None:
        """One line for the user (e.g. where a resumed checkpoint continues)."""
        self.progress.console.print(message, markup=False, highlight=False)

    def advance(self, name: str, record: dict[str, Any]) -> None:
        info = "  ".join(f"{k} {record[k]:.3f}" for k in SHOWN if k in record)
        self.progress.update(self.tasks[name], advance=1, info=info)

"""What the commands print with: a rich console, a progress reporter on terminals, figure tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def new_console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


@contextmanager
def reporting(console: Console) -> Iterator[Any]:
    """A progress reporter for long work on a terminal (none when the output is piped)."""
    if not console.is_terminal:
        yield None
        return
    from seqgan_music.cli.progress import RichReporter

    with RichReporter(console, transient=True) as reporter:
        yield reporter


def check_file(path: Path | None, what: str) -> None:
    from seqgan_music.errors import ConfigError

    if path is not None and not path.exists():
        raise ConfigError(f"{what} {path} does not exist")


def print_figures(console: Console, figures: dict[str, dict[str, float]], title: str,
                   task_name: str) -> None:
    """One table per figure group of the task (all figures in one table by default)."""
    from rich.table import Table

    from seqgan_music.tasks import load_task

    task = load_task(task_name)
    metrics = list(dict.fromkeys(k for row in figures.values() for k in row))
    groups = {name: [m for m in keys if m in metrics] for name, keys in task.figure_groups.items()}
    grouped = {m for keys in groups.values() for m in keys}
    rest = [m for m in metrics if m not in grouped]
    if not groups:
        groups = {"": rest}
    elif rest:
        first = next(iter(groups))
        groups[first] = [*groups[first], *rest]
    for group, keys in groups.items():
        if not keys:
            continue
        table = Table(title=f"{title}: {group}" if group else title)
        table.add_column("model")
        for metric in keys:
            table.add_column(task.figure_label(metric), justify="right")
        for label, row in figures.items():
            if any(m in row for m in keys):
                table.add_row(label, *(f"{row[m]:.4f}" if m in row else "" for m in keys))
        console.print(table)

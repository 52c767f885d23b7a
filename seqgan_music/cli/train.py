"""Commands that make models: `tasks`, `train`, `oracle` (the paper's Table 1), `data download`.

Each parses, calls one library function (`seqgan_music.app.train`, a task) and renders.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqgan_music.cli.console import check_file, new_console, print_figures
from seqgan_music.cli.options import ConfigOpt, DeviceOpt, PresetOpt, SeedOpt, SetOpt

if TYPE_CHECKING:
    from rich.console import Console


def tasks_command() -> None:
    """List every task: its source, whether its data is present, and which package provides it.

    Example: seqgan-music tasks
    """
    from rich.table import Table

    from seqgan_music.tasks import discover_tasks

    loaded, failures = discover_tasks()
    plugins = any(entry.distribution != "seqgan-music" for _, entry in loaded.values())
    table = Table(title="seqgan-music tasks")
    # Short cells; the long ones (data hints, sources) go below as lines that wrap, never cut.
    for column in ("task", "data", "presets", *(("provided by",) if plugins else ()),
                   "summary"):
        table.add_column(column, overflow="fold")
    hints, sources = [], []
    for name, (task, entry) in loaded.items():
        status = task.data_status()
        short = status.split(" (")[0].split(":")[0]
        if short != status:
            hints.append(f"  {name}: {status}")
        sources.append(f"  {name}: {task.source()}")
        table.add_row(name, short, ", ".join(task.preset_names()),
                      *((entry.distribution,) if plugins else ()), task.summary)
    console = new_console()
    console.print(table)
    for title, lines in (("data:", hints), ("where each task's data comes from:", sources)):
        console.print(title, markup=False)
        for line in lines:
            console.print(line, markup=False, overflow="fold")
    for line in failures:
        new_console(stderr=True).print(f"warning: {line}", markup=False)


def train_command(
    task: Annotated[str, typer.Argument(help="Task name (see `seqgan-music tasks`).")],
    data: Annotated[Path | None, typer.Option("--data", help="Local data path.")] = None,
    preset: PresetOpt = "default",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Root folder of run directories.")] = Path(
        "runs"),
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue this run directory (or checkpoint).")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    method: Annotated[str, typer.Option(
        "--method", help="seqgan, mle, ss (scheduled sampling) or pg-bleu.")] = "seqgan",
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the resolved config and stop.")] = False,
    tokenizer: Annotated[str | None, typer.Option(
        "--tokenizer", help="char or word (text task; same as --set "
        "task_options.tokenizer=...).")] = None,
    nproc: Annotated[int, typer.Option(
        "--nproc", help="Train with N processes on this machine (torch.distributed, as "
        "torchrun --standalone --nproc-per-node N); the global batch stays the same.")] = 1,
) -> None:
    """Train SeqGAN (or a baseline) on a task: MLE, D pre-training, adversarial training.

    Example: seqgan-music train oracle --preset quick --set train.batch_size=32
    """
    if tokenizer is not None:
        from seqgan_music.errors import ConfigError
        from seqgan_music.text.tokenizers import KINDS

        if tokenizer not in KINDS:
            raise ConfigError(f"--tokenizer {tokenizer!r} is invalid; accepted: {', '.join(KINDS)}")
        set_ = [*(set_ or []), f"task_options.tokenizer={tokenizer}"]
    from seqgan_music.app.train import build_config
    from seqgan_music.io.runs import dump_toml
    from seqgan_music.tasks import load_task

    check_file(config, "config file")
    check_file(resume, "run")
    if dry_run:
        resolved = build_config(load_task(task), preset, config, set_, seed, device)
        print(dump_toml(resolved.to_dict()), end="")
        return
    if nproc != 1:  # the same command in N processes, started the way torchrun does
        from seqgan_music.runtime import distributed

        distributed.launch(nproc, distributed.without_nproc(sys.argv[1:]))
        return
    from seqgan_music.app import train as training_job
    from seqgan_music.cli.progress import RichReporter
    from seqgan_music.errors import DataMissing

    console = new_console()
    try:
        with RichReporter(console) as reporter:
            outcome = training_job.train(task, data, preset, config, set_, out, resume, seed,
                                     device, method, reporter)
    except DataMissing as missing:
        if not _offer_download(console, missing):
            raise
        with RichReporter(console) as reporter:
            outcome = training_job.train(task, data, preset, config, set_, out, resume, seed,
                                     device, method, reporter)
    if outcome.rank:  # another process of a distributed run: rank 0 reports
        return
    if outcome.data_label:
        console.print(f"data: {outcome.data_label}", markup=False)
    print_figures(console, outcome.figures, f"{task}: evaluation of the trained models", task)
    console.print(f"figures on {outcome.evaluation}", markup=False)
    console.print(f"run directory: {outcome.run_dir}", markup=False)


def _offer_download(console: Console, missing: Any) -> bool:
    """Ask (only on an interactive terminal) whether to download a task's missing data."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    from rich.prompt import Confirm

    console.print(str(missing), markup=False)
    if not Confirm.ask(f"Download the {missing.task} data now?", console=console, default=True):
        return False
    _download(console, missing.task, force=False)
    return True


def _download(console: Console, task_name: str, force: bool) -> Path:
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    from seqgan_music.errors import DataError
    from seqgan_music.tasks import load_task

    task = load_task(task_name)
    download = getattr(task, "download", None)
    if download is None:
        raise DataError(f"task {task_name} has no public download; its data: {task.source()}")
    if not console.is_terminal:  # logs: a plain line per 10% (per 5 MB when the size is unknown)
        said = [-1]

        def say(done: int, total: int | None) -> None:
            mark = done * 10 // total if total else done // (5 << 20)
            if mark > said[0]:
                said[0] = mark
                size = f" of {total / 1e6:.1f} MB" if total else ""
                print(f"downloading {task_name}: {done / 1e6:.1f} MB{size}", flush=True)

        plain: Path = download(force=force, progress=say)
        return plain
    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task(f"downloading {task_name}", total=None)

        def advance(done: int, total: int | None) -> None:
            progress.update(bar, completed=done, total=total)

        path: Path = download(force=force, progress=advance)
    return path


def oracle_command(
    methods: Annotated[str, typer.Option(
        "--methods", help="Comma-separated: random,mle,ss,pg-bleu,seqgan.")] =
        "random,mle,ss,pg-bleu,seqgan",
    preset: PresetOpt = "default",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    oracle_params: Annotated[Path | None, typer.Option(
        "--oracle-params", help="The official target_params.npz (else "
        "$SEQGAN_MUSIC_DATA/oracle/target_params.npz, else a random oracle).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output folder (default runs/oracle-benchmark/<timestamp>); an existing "
        "one continues where it stopped.")] = None,
    seed: SeedOpt = None,
    device: DeviceOpt = None,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the table as Markdown (the default when the output is not a "
        "terminal; table.md in --out is Markdown either way).")] = False,
) -> None:
    """The paper's synthetic benchmark (Table 1): NLL-oracle of each method from one MLE start.

    Example: seqgan-music oracle --preset quick --methods mle,seqgan
    """
    from seqgan_music.app.train import build_config
    from seqgan_music.tasks import load_task

    check_file(config, "config file")
    check_file(oracle_params, "oracle parameters")
    resolved = build_config(load_task("oracle"), preset, config, set_, seed, device)
    from seqgan_music.cli.progress import RichReporter
    from seqgan_music.tasks.oracle import format_table, run_benchmark

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    console = new_console()
    with RichReporter(console) as reporter:
        result = run_benchmark(resolved, method_list, out, reporter, oracle_params)
    console.print(f"Oracle: {result.oracle['label']}", markup=False)
    if markdown or not console.is_terminal:
        console.print(format_table(result), markup=False, soft_wrap=True)
    else:
        console.print(_oracle_table(result))
        # format_table ends with the protocols and the paragraph that explains the columns
        console.print(format_table(result).split("\n\n", 1)[-1], markup=False)
    console.print(f"{result.seconds:.0f} s; table, curves.csv and curves.png in {result.out_dir}",
                  markup=False)


def _oracle_table(result: Any) -> Any:
    """Table 1 (a `tasks.oracle.BenchmarkResult`) as a rich table, the columns of
    `format_table`."""
    from rich.table import Table

    from seqgan_music.tasks.oracle import ROW_LABELS, TABLE_COLUMNS, table_cells

    table = Table(title="NLL-oracle (lower is better), paper values beside ours")
    table.add_column("method")
    # the Markdown table's column names, shortened to fit 80 columns (the notes explain them)
    for column in ("NLL-oracle", "std", "p vs SeqGAN", "paper", "NLL-test", "distinct",
                   "best (paper's pick)"):
        table.add_column(column, justify="right", overflow="fold",
                         no_wrap=column.startswith("NLL"))
    assert len(table.columns) == len(TABLE_COLUMNS) + 1
    for method in result.rows:
        table.add_row(ROW_LABELS[method], *table_cells(result, method))
    table.add_row("oracle samples (floor)", f"{result.oracle_floor:.3f}",
                  *[""] * (len(TABLE_COLUMNS) - 1))
    return table


def download_command(
    task: Annotated[str, typer.Argument(help="Task name.")],
    force: Annotated[bool, typer.Option("--force", help="Download again.")] = False,
) -> None:
    """Fetch a task's public data into the cache, verified against recorded SHA-256 sums.

    Example: seqgan-music data download nottingham
    """
    console = new_console()
    path = _download(console, task, force)
    console.print(f"{task} data ready at {path}", markup=False)

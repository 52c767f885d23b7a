"""Commands of `seqgan-music`; each parses, calls one library function and renders the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="seqgan-music",
    help="SeqGAN (Yu et al., AAAI 2017) for music, text and the paper's synthetic benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Fetch and inspect task data.", no_args_is_help=True)
app.add_typer(data_app, name="data")

PresetOpt = Annotated[str, typer.Option("--preset", help="quick, default or paper.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="A TOML config file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override one field, e.g. --set train.batch_size=32 (repeatable).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed.")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _check_file(path: Path | None, what: str) -> None:
    from seqgan_music.errors import ConfigError

    if path is not None and not path.exists():
        raise ConfigError(f"{what} {path} does not exist")


@app.command("tasks")
def tasks_command() -> None:
    """List every task: its source, whether its data is present, and which package provides it.

    Example: seqgan-music tasks
    """
    from rich.table import Table

    from seqgan_music.tasks import discover_tasks

    loaded, failures = discover_tasks()
    table = Table(title="seqgan-music tasks")
    for column in ("task", "summary", "source", "data", "presets", "provided by"):
        table.add_column(column)
    for name, (task, entry) in loaded.items():
        table.add_row(name, task.summary, task.source(), task.data_status(),
                      ", ".join(task.preset_names()), entry.distribution)
    console = _console()
    console.print(table)
    for line in failures:
        _console(stderr=True).print(f"warning: {line}", markup=False)


@app.command("train")
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
) -> None:
    """Train SeqGAN (or a baseline) on a task: MLE, D pre-training, adversarial training.

    Example: seqgan-music train oracle --preset quick --set train.batch_size=32
    """
    from seqgan_music.pipeline import build_config
    from seqgan_music.runs import dump_toml
    from seqgan_music.tasks import load_task

    _check_file(config, "config file")
    _check_file(resume, "run")
    if dry_run:
        resolved = build_config(load_task(task), preset, config, set_, seed, device)
        print(dump_toml(resolved.to_dict()), end="")
        return
    from seqgan_music import pipeline
    from seqgan_music.cli.progress import RichReporter

    console = _console()
    with RichReporter(console) as reporter:
        outcome = pipeline.train(task, data, preset, config, set_, out, resume, seed, device,
                                 method, reporter)
    if outcome.data_label:
        console.print(f"data: {outcome.data_label}", markup=False)
    _print_figures(console, outcome.figures, f"{task}: evaluation of the trained models")
    console.print(f"run directory: {outcome.run_dir}", markup=False)


@app.command("oracle")
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
) -> None:
    """The paper's synthetic benchmark (Table 1): NLL-oracle of each method from one MLE start.

    Example: seqgan-music oracle --preset quick --methods mle,seqgan
    """
    from seqgan_music.pipeline import build_config
    from seqgan_music.tasks import load_task

    _check_file(config, "config file")
    _check_file(oracle_params, "oracle parameters")
    resolved = build_config(load_task("oracle"), preset, config, set_, seed, device)
    from seqgan_music.cli.progress import RichReporter
    from seqgan_music.tasks.oracle import format_table, run_benchmark

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    console = _console()
    with RichReporter(console) as reporter:
        result = run_benchmark(resolved, method_list, out, reporter, oracle_params)
    console.print(f"Oracle: {result.oracle['label']}", markup=False)
    console.print(format_table(result), markup=False)
    console.print(f"{result.seconds:.0f} s; table, curves.csv and curves.png in {result.out_dir}",
                  markup=False)


@app.command("generate")
def generate_command(
    model: Annotated[Path, typer.Option("--model", help="Run directory or checkpoint.")],
    num: Annotated[int, typer.Option("-n", "--num", help="Number of samples.")] = 10,
    temperature: Annotated[float, typer.Option("--temperature")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file instead of stdout.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Sample from a trained model and print (or write) the decoded sequences.

    Example: seqgan-music generate --model runs/oracle/20260101-120000 -n 5
    """
    from seqgan_music.errors import ConfigError
    from seqgan_music.pipeline import generate, load_model

    _check_file(model, "model")
    if out is not None and out.exists() and not force:
        raise ConfigError(f"output {out} exists; pass --force to overwrite it")
    loaded = load_model(model)
    tokens = generate(loaded, num, temperature, seed)
    if out is not None:
        loaded.task.export(tokens, loaded.state.get("task", {}), out)
        _console().print(f"wrote {num} samples to {out}", markup=False)
    else:
        for line in loaded.task.decode(tokens, loaded.state.get("task", {})):
            print(line)


@app.command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Option("--model", help="Run directory or checkpoint.")],
    num: Annotated[int | None, typer.Option(
        "-n", "--num", help="Samples to evaluate (default: the run's num_eval_samples).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")]
        = None,
    data: Annotated[Path | None, typer.Option("--data", help="Local data path.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --json.")] = False,
) -> None:
    """Run the task's evaluators on a trained model; MLE and final model side by side.

    Example: seqgan-music evaluate --model runs/oracle/20260101-120000 --json figures.json
    """
    import json

    from seqgan_music.errors import ConfigError
    from seqgan_music.pipeline import evaluate_run
    from seqgan_music.runs import atomic_write

    _check_file(model, "model")
    if json_out is not None and json_out.exists() and not force:
        raise ConfigError(f"output {json_out} exists; pass --force to overwrite it")
    figures = evaluate_run(model, num, data)
    _print_figures(_console(), figures, f"evaluation of {model}")
    if json_out is not None:
        with atomic_write(json_out) as handle:
            json.dump(figures, handle, indent=2)


@data_app.command("download")
def download_command(
    task: Annotated[str, typer.Argument(help="Task name.")],
    force: Annotated[bool, typer.Option("--force", help="Download again.")] = False,
) -> None:
    """Fetch a task's public data into the cache, verified against recorded SHA-256 sums.

    Example: seqgan-music data download nottingham
    """
    from seqgan_music.errors import DataError
    from seqgan_music.tasks import load_task

    loaded = load_task(task)
    download = getattr(loaded, "download", None)
    if download is None:
        raise DataError(f"task {task} has no public download; {loaded.source()}")
    path = download(force=force)
    _console().print(f"{task} data ready at {path}", markup=False)


def _print_figures(console: Console, figures: dict[str, dict[str, float]], title: str) -> None:
    from rich.table import Table

    metrics = list(dict.fromkeys(k for row in figures.values() for k in row))
    table = Table(title=title)
    table.add_column("model")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for label, row in figures.items():
        table.add_row(label, *(f"{row[m]:.4f}" if m in row else "" for m in metrics))
    console.print(table)


def _mount_plugin_commands(target: Any) -> None:
    """Mount each task's own command group as `seqgan-music <task> ...`."""
    from seqgan_music.tasks import task_entries

    for name, entry in task_entries().items():
        if entry.value.startswith("seqgan_music.tasks.oracle"):
            continue  # built-in task with no commands of its own: skip importing it
        try:
            commands = entry.load().commands()
        except Exception:  # reported by `seqgan-music tasks`; never break the CLI
            continue
        if commands is not None:
            target.add_typer(commands, name=name)


_mount_plugin_commands(app)

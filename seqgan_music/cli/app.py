"""Commands of `seqgan-music`; each parses, calls one library function and renders the result."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqgan_music.cli.text import app as text_app

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="seqgan-music",
    help="SeqGAN (Yu et al., AAAI 2017) for music, text and the paper's synthetic benchmark."
    "\n\nExample: seqgan-music train nottingham  (then: seqgan-music compose --out tune.mid)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # subcommands inherit it
)
data_app = typer.Typer(help="Fetch and inspect task data.\n\nExample: seqgan-music data "
                       "download nottingham", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(text_app, name="text")


def _show_version(value: bool) -> None:
    if value:
        from seqgan_music._version import __version__

        print(f"seqgan-music {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_show_version,
        is_eager=True)] = False,
) -> None:
    """Options of `seqgan-music` itself (the help text is the app's)."""

PresetOpt = Annotated[str, typer.Option(
    "--preset", help="quick (a smoke test: runs in about a minute, its samples are not meant "
    "to be good), default or paper; e.g. --preset quick.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="A TOML config file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override one field, e.g. --set train.batch_size=32 (repeatable).")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (0 .. 2**63 - 1).")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


@contextmanager
def _progress(console: Console) -> Iterator[Any]:
    """A progress reporter for long work on a terminal (none when the output is piped)."""
    if not console.is_terminal:
        yield None
        return
    from seqgan_music.cli.progress import RichReporter

    with RichReporter(console, transient=True) as reporter:
        yield reporter


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
    console = _console()
    console.print(table)
    for title, lines in (("data:", hints), ("where each task's data comes from:", sources)):
        console.print(title, markup=False)
        for line in lines:
            console.print(line, markup=False, overflow="fold")
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

    _check_file(config, "config file")
    _check_file(resume, "run")
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

    console = _console()
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
    _print_figures(console, outcome.figures, f"{task}: evaluation of the trained models", task)
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


@app.command("compose")
def compose_command(
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="MIDI (.mid) or ABC (.abc) file to write (numbered tune-1.mid, "
        "tune-2.mid... when -n > 1).")] = Path("tune.mid"),
    model: Annotated[Path | None, typer.Option(
        "--model", help="Run directory, checkpoint, model folder, a shipped model's name "
        "(seqgan-music models) or 'latest' (the latest finished nottingham run in --runs); "
        "default: the shipped default model.")] = None,
    num: Annotated[int, typer.Option("-n", "--num", help="Number of tunes.")] = 1,
    length: Annotated[int | None, typer.Option(
        "--length", help="Steps to generate at most (paper models: 0.4 s steps, default 32; "
        "onset models: sixteenth notes, default 1,024, the tune ends where the model ends it).")]
        = None,
    temperature: Annotated[float, typer.Option(
        "--temperature", help="Sampling temperature (< 1 safer, > 1 wilder).")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same tune.")] = 0,
    primer: Annotated[str | None, typer.Option(
        "--primer", help="A .mid/.midi/.abc file whose melody the tune continues, or notes "
        "inline: \"D4 - E4 F#4 | G4 - - - r\" (a name starts a note one step long, '-' holds it "
        "a step more, 'r' rests a step, '|' is a bar line).")] = None,
    tune: Annotated[int, typer.Option(
        "--tune", help="Which tune of a primer file of several, from 1 (only that one is "
        "read), e.g. --tune 3.")] = 1,
    keep_primer: Annotated[bool, typer.Option(
        "--keep-primer/--no-keep-primer", help="Include the primer in the output.")] = True,
    tempo: Annotated[float, typer.Option("--tempo", help="Quarter notes per minute.")] = 150.0,
    program: Annotated[int, typer.Option(
        "--program", help="General MIDI instrument 0..127 (0 piano, 40 violin, 73 flute).")] = 0,
    wav: Annotated[bool, typer.Option("--wav", help="Also render a .wav beside the MIDI.")]
        = False,
    plot: Annotated[bool, typer.Option("--plot", help="Also draw a piano-roll .png.")] = False,
    musicxml: Annotated[bool, typer.Option(
        "--musicxml", help="Also write notation as .musicxml.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    runs: Annotated[Path, typer.Option("--runs", help="Where --model latest looks.")] =
        Path("runs"),
    key: Annotated[str | None, typer.Option(
        "--key", help="Key to write the tune in: a tonic and a mode, e.g. G, Bb, Em, Dmix, "
        "\"E dorian\", Ador (default: onset "
        "models G major / E minor; paper models as sampled).")] = None,
    meter: Annotated[str | None, typer.Option(
        "--meter", help="Time signature, e.g. 4/4, 6/8, 3/4 (onset models start the tune in "
        "it; default: the model chooses).")] = None,
    soundfont: Annotated[Path | None, typer.Option(
        "--soundfont", help="General MIDI .sf2/.sf3 for --wav (default: searched in the usual "
        "system folders).")] = None,
    abc: Annotated[bool, typer.Option(
        "--abc", help="Also write the tune as ABC (.abc; or --out tune.abc for ABC alone).")]
        = False,
    svg: Annotated[bool, typer.Option(
        "--svg", help="Also engrave the score as .svg (key, meter, repeats, chords).")] = False,
    chords: Annotated[bool, typer.Option(
        "--chords/--no-chords", help="Harmonise the tune: chord symbols in ABC and MusicXML, "
        "an accompaniment track in MIDI and WAV.")] = True,
    accompaniment_program: Annotated[int, typer.Option(
        "--accompaniment-program", help="General MIDI instrument of the accompaniment "
        "(25 steel guitar, 0 piano, 21 accordion, 32 acoustic bass).")] = 25,
    bars: Annotated[int | None, typer.Option(
        "--bars", help="Bars the tune lasts as played, repeats counted (form models; default: "
        "the model ends it at a phrase boundary).")] = None,
    form: Annotated[str | None, typer.Option(
        "--form", help="Strains of the tune, e.g. AABB (a doubled letter is a repeated "
        "strain), AAB, ABC (form models; 8 bars a strain unless --bars says).")] = None,
) -> None:
    """Compose folk tunes with a trained music model and write them as MIDI.

    Example: seqgan-music compose --out tune.mid -n 4 --seed 7 --plot
    """
    from seqgan_music.app.compose import ComposeOptions, compose
    from seqgan_music.music.tokens import STEP_SECONDS

    primer_file, primer_notes = _primer_arguments(primer)
    options = ComposeOptions(out, model, num, length, temperature, seed, primer_file,
                             keep_primer, tempo, program, wav, plot, musicxml, force, runs,
                             tune=tune, primer_notes=primer_notes, key=key, meter=meter,
                             soundfont=soundfont, abc=abc, svg=svg, chords=chords,
                             accompaniment_program=accompaniment_program, bars=bars, form=form)
    console = _console()
    with _progress(_console(stderr=True)) as reporter:
        result = compose(options, reporter)
    steps = len(result.tunes[0])
    seconds = steps * 60.0 / tempo
    console.print(f"model: {result.model}", markup=False)
    primer_note = (f", primer {result.primer_steps} steps kept"
                   if result.primer_steps and result.primer is not None else "")
    if result.primer is not None and result.primer.num_tunes > 1:
        console.print(f"primer: tune {result.primer.tune} of the {result.primer.num_tunes} in "
                      f"{primer} (--tune N for another)", markup=False)
    if result.representation == "paper":
        console.print(f"{num} tune(s) of {steps} steps ({seconds:.1f} s at {tempo:g} qpm; the "
                      f"model's step is {STEP_SECONDS} s){primer_note}", markup=False)
    else:
        console.print(f"{num} tune(s) in {result.representation} representation, "
                      f"{', '.join(sorted(set(result.meters)))}, "
                      f"{', '.join(sorted(set(result.keys)))}; {_ended(result.ended)}"
                      f"{primer_note}", markup=False)
    if result.synth:
        console.print(f"audio: {result.synth}", markup=False)
    for path in result.files:
        console.print(f"wrote {path}", markup=False)


def _ended(ended: list[bool]) -> str:
    """How the tunes ended, in words that fit the count."""
    done, num = sum(ended), len(ended)
    if done == num:
        return "ended by the model" if num == 1 else f"all {num} ended by the model"
    if done == 0:
        return ("stopped at --length (the model did not end it)" if num == 1
                else f"none ended by the model (all {num} stop at --length)")
    return f"{done} of {num} ended by the model (the other {num - done} stop at --length)"


def _primer_arguments(primer: str | None) -> tuple[Path | None, str | None]:
    """--primer: a file (an existing path or a name ending in a music suffix) or inline notes."""
    if primer is None:
        return None, None
    path = Path(primer)
    if path.exists() or path.suffix.lower() in (".mid", ".midi", ".abc"):
        return path, None
    return None, primer


@app.command("models")
def models_command() -> None:
    """List the models shipped with seqgan-music (compose --model NAME picks one).

    Example: seqgan-music models
    """
    from seqgan_music.music.zoo import default_model, shipped_models

    console = _console()
    models = shipped_models()
    if not models:
        console.print("no shipped models in this installation", markup=False)
        return
    default = default_model().name
    for model in models:
        mark = " (default)" if model.name == default else ""
        console.print(f"{model.name}{mark}: {model.summary}", markup=False)
        console.print(f"    {model.path}", markup=False)


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
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the table as Markdown (the default when the output is not a "
        "terminal; table.md in --out is Markdown either way).")] = False,
) -> None:
    """The paper's synthetic benchmark (Table 1): NLL-oracle of each method from one MLE start.

    Example: seqgan-music oracle --preset quick --methods mle,seqgan
    """
    from seqgan_music.app.train import build_config
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


MODEL_HELP = ("Run directory, checkpoint, model folder or a shipped model's name (seqgan-music "
              "models).")


@app.command("generate")
def generate_command(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
    num: Annotated[int, typer.Option("-n", "--num", help="Number of samples.")] = 10,
    temperature: Annotated[float, typer.Option(
        "--temperature", help="Sampling temperature, e.g. 0.8 (< 1 safer, > 1 wilder).")]
        = 1.0,
    seed: Annotated[int, typer.Option(
        "--seed", help="Same seed, same samples, e.g. --seed 7.")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write to this file instead of stdout; the suffix picks the format: "
        ".mid/.midi (music), .txt (decoded text, any task) or .jsonl.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Sample from a trained model and print (or write) the decoded sequences.

    Example: seqgan-music generate --model runs/poems/20260101-120000 -n 5 --temperature 0.8

    Example: seqgan-music generate --model runs/nottingham/20260101-120000 --seed 7 --out a.mid
    """
    from seqgan_music.app.model import (
        generate,
        load_model,
        output_format,
        resolve_model_path,
        write_samples,
    )
    from seqgan_music.io.runs import check_output

    model = resolve_model_path(model)
    if out is not None:
        check_output(out, force)
    loaded = load_model(model)
    if out is not None:
        output_format(loaded.task, out)  # refuse a mismatch before sampling
    with _progress(_console(stderr=True)) as reporter:
        tokens = generate(loaded, num, temperature, seed, reporter=reporter)
    if out is not None:
        write_samples(loaded, tokens, out)
        _console().print(f"wrote {num} samples to {out}", markup=False)
    else:
        for line in loaded.task.decode(tokens, loaded.state.get("task", {})):
            print(line)


@app.command("evaluate")
def evaluate_command(
    model: Annotated[Path, typer.Option("--model", help=MODEL_HELP)],
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

    from seqgan_music.app.model import resolve_model_path
    from seqgan_music.app.train import evaluate_run
    from seqgan_music.io.runs import atomic_write, check_output

    model = resolve_model_path(model)
    if json_out is not None:
        check_output(json_out, force)
    outcome = evaluate_run(model, num, data)
    console = _console()
    if outcome.data_label:
        console.print(f"data: {outcome.data_label}", markup=False)
    _print_figures(console, outcome.figures, f"evaluation of {model}", outcome.config.task)
    console.print(f"figures on {outcome.evaluation}", markup=False)
    if json_out is not None:
        with atomic_write(json_out) as handle:
            json.dump(outcome.figures, handle, indent=2)


@app.command("export")
def export_command(
    model: Annotated[Path, typer.Option("--model", help="Run directory or checkpoint.")],
    out: Annotated[Path, typer.Option(
        "--out", help="A folder (no suffix: config.json, model.safetensors and README.md, the "
        "model card, as the Hugging Face Hub keeps models), a .safetensors file (read without "
        "torch) or .pt (a slim torch checkpoint).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out.")] = False,
) -> None:
    """Save a run's generator alone (small; for sharing, generate and compose --model).

    Example: seqgan-music export --model runs/nottingham/20260101-120000 --out my-tunes
    """
    from seqgan_music.app.model import export_model

    _check_file(model, "model")
    path = export_model(model, out, force)
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        _console().print(f"wrote {path}/ (config.json, model.safetensors, README.md; "
                         f"{size / 1024:.0f} KiB); compose --model {path} plays it",
                         markup=False)
        return
    card = path.with_suffix(".md") if path.suffix == ".safetensors" else None
    also = f" and its model card {card}" if card is not None and card.is_file() else ""
    _console().print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB){also}", markup=False)


@app.command("studio")
def studio_command(
    runs: Annotated[Path, typer.Option("--runs", help="Folder of run directories.")] = Path(
        "runs"),
    port: Annotated[int, typer.Option("--port", help="Port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on; anything but 127.0.0.1 is reachable from other "
        "machines.")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option(
        "--no-browser", help="Print the URL but do not open a browser.")] = False,
) -> None:
    """Open the studio in your browser: compose and hear tunes, browse runs, train.

    Example: seqgan-music studio --runs runs
    """
    from seqgan_music.studio import serve

    serve(runs=runs, host=host, port=port, open_browser=not no_browser)


@data_app.command("download")
def download_command(
    task: Annotated[str, typer.Argument(help="Task name.")],
    force: Annotated[bool, typer.Option("--force", help="Download again.")] = False,
) -> None:
    """Fetch a task's public data into the cache, verified against recorded SHA-256 sums.

    Example: seqgan-music data download nottingham
    """
    console = _console()
    path = _download(console, task, force)
    console.print(f"{task} data ready at {path}", markup=False)


def _print_figures(console: Console, figures: dict[str, dict[str, float]], title: str,
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


def _mount_plugin_commands(target: Any) -> None:
    """Mount each third-party task's own command group as `seqgan-music <task> ...` (the
    built-in groups are the CLI's own modules: tasks never import the CLI layer)."""
    from seqgan_music.tasks import BUILTIN_TASKS, task_entries

    for name, entry in task_entries().items():
        if entry.value in BUILTIN_TASKS.values():
            continue  # built-in tasks: their commands are mounted above, no import needed
        try:
            commands = entry.load().commands()
        except Exception:  # reported by `seqgan-music tasks`; never break the CLI
            continue
        if commands is not None:
            target.add_typer(commands, name=name)


_mount_plugin_commands(app)

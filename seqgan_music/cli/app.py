"""The `seqgan-music` Typer app: its command groups, in the order `--help` lists them.

The commands live by what they do: `cli.train` (tasks, train, oracle, data download),
`cli.models` (compose, models, generate, evaluate, export), `cli.text` (the text plug-in's
group); each parses, calls one library function and renders the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seqgan_music.cli import models, train
from seqgan_music.cli.text import app as text_app

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


app.command("tasks")(train.tasks_command)
app.command("train")(train.train_command)
app.command("compose")(models.compose_command)
app.command("models")(models.models_command)
app.command("oracle")(train.oracle_command)
app.command("generate")(models.generate_command)
app.command("evaluate")(models.evaluate_command)
app.command("export")(models.export_command)


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


data_app.command("download")(train.download_command)


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

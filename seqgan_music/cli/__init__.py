"""The `seqgan-music` command line: a thin typer shell over `seqgan_music.app`.

Heavy libraries (torch, music21) are imported inside the commands, so `--help` stays fast.
Errors a user can cause end as one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

from seqgan_music.cli.app import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m seqgan_music`."""
    from typer.main import get_command

    from seqgan_music.errors import SeqganMusicError

    _show_data_warnings()
    aborts, click_errors = _click_exceptions()
    interrupts: tuple[type[BaseException], ...] = (*aborts, KeyboardInterrupt)
    no_args = tuple(e for e in click_errors if e.__name__ == "NoArgsIsHelpError")
    command = get_command(app)
    try:
        code = command.main(args=argv, prog_name="seqgan-music", standalone_mode=False)
    except interrupts:  # click turns Ctrl-C into Abort
        _interrupted(argv)
    except no_args as error:  # a bare group (`seqgan-music`, `seqgan-music text`): its help
        print(error.ctx.get_help())  # type: ignore[attr-defined]
        sys.exit(0)
    except click_errors as error:
        ctx = getattr(error, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        _fail(f"{error.format_message()}{hint}")  # type: ignore[attr-defined]
    except SeqganMusicError as error:
        if getattr(error, "replicated", False):  # a distributed run's rank > 0: rank 0 says it
            sys.exit(1)
        _fail(str(error))
    except BrokenPipeError:  # `seqgan-music ... | head`: the reader has gone, so stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # what a shell reports for a process ended by SIGPIPE
    except OSError as error:  # the file system said no somewhere we did not expect it
        _fail(_file_system_message(error))
    if code == 130:  # typer turns Ctrl-C into exit code 130
        _interrupted(argv)
    sys.exit(code if isinstance(code, int) else 0)


def _show_data_warnings() -> None:
    """Print `DataWarning`s as one `warning: ...` line on stderr (no source line)."""
    import warnings

    from seqgan_music.errors import DataWarning

    default = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, DataWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    warnings.showwarning = show


INTERRUPTED = {
    "train": "interrupted; continue with: seqgan-music train TASK --resume RUN_DIR (from its "
             "last checkpoint, if one was saved)",
    "oracle": "interrupted; the same command with the same --out continues where it stopped",
}


def _interrupted(argv: list[str] | None) -> None:
    """Exit 130 with one line that fits the command (how to continue, where there is a way)."""
    args = sys.argv[1:] if argv is None else argv
    command = next((a for a in args if not a.startswith("-")), "")
    print(INTERRUPTED.get(command, "interrupted; no partial output file was left"),
          file=sys.stderr)
    sys.exit(130)


def _click_exceptions() -> tuple[tuple[type[BaseException], ...], tuple[type[Exception], ...]]:
    """Abort and ClickException classes of click and of the copy newer typer releases vendor
    (those no longer depend on click, so either may be missing); NoArgsIsHelpError (click >=
    8.2, a bare group) is listed among the errors when present."""
    aborts: list[type[BaseException]] = []
    errors: list[type[Exception]] = []
    try:
        import click
    except ImportError:
        pass
    else:
        aborts.append(click.exceptions.Abort)
        errors.append(click.ClickException)
        errors.extend(_no_args_error(click.exceptions))
    try:
        from typer import exceptions as typer_exceptions
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        aborts.append(typer_exceptions.Abort)
        errors.append(vendored.ClickException)
        errors.extend(_no_args_error(vendored))
    return tuple(aborts), tuple(errors)


def _file_system_message(error: OSError) -> str:
    """One line for an OSError: the path(s) it names and the reason, no traceback."""
    reason = error.strerror or str(error) or type(error).__name__
    paths = [str(p) for p in (error.filename, getattr(error, "filename2", None)) if p]
    if paths:
        return f"cannot access {' -> '.join(paths)}: {reason}"
    return f"file system error: {reason}"


def _no_args_error(module: Any) -> list[type[Exception]]:
    found = getattr(module, "NoArgsIsHelpError", None)
    return [found] if isinstance(found, type) else []


def _fail(message: str) -> None:
    text = " ".join(message.split())
    print(f"error: {text}", file=sys.stderr)
    sys.exit(1)

"""What a newcomer meets first: bare commands, --version, -h, progress in logs (issue 12)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from rich.console import Console

from seqgan_music.cli.progress import RichReporter
from seqgan_music.config import ExperimentConfig


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seqgan_music", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, shown", [
    ([], "Commands:"), (["text"], "vocab"), (["data"], "download")])
def test_bare_groups_show_their_help(args: list[str], shown: str) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: seqgan-music") and shown in result.stdout
    assert "Example:" in result.stdout and result.stderr == ""


def test_version_and_short_help() -> None:
    from seqgan_music import __version__

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"seqgan-music {__version__}"
    for args in (["-h"], ["train", "-h"], ["data", "download", "-h"], ["text", "vocab", "-h"]):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Usage:") and "Example:" in result.stdout


def test_progress_without_a_terminal_prints_plain_lines() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=40, force_terminal=False)
    with RichReporter(console) as reporter:
        reporter.phase("adversarial", 2, 0)
        reporter.advance("adversarial", {"g_loss": 1.5, "d_loss": 0.25, "other": 3.0})
        reporter.advance("adversarial", {"g_loss": 1.25})
        reporter.phase("read_data", 100, 0)
        for _ in range(100):
            reporter.advance("read_data", {})
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "adversarial training: 2 steps"  # the full title, never cut at 40 columns
    assert lines[1].startswith("adversarial training 1/2  G loss 1.500  D loss 0.250  elapsed ")
    assert "ETA " in lines[1] and "other" not in lines[1]
    assert lines[2].startswith("adversarial training 2/2  G loss 1.250")
    reading = [line for line in lines if line.startswith("reading music files ")]
    assert len(reading) == 10 and reading[-1].startswith("reading music files 100/100")
    assert "\x1b" not in buffer.getvalue()  # no terminal control codes in a log


def test_thread_choice_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music import threads
    from seqgan_music.errors import ConfigError

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(threads.ENV_VARIABLE, raising=False)
    monkeypatch.setattr(threads, "available_cpus", lambda: 16)
    monkeypatch.setattr(threads, "busy_cpus", lambda: 3.7)
    threads._automatic_threads.cache_clear()
    assert threads.choose_threads(0) == 8  # 16 - 3 busy, capped at MAX_AUTO_THREADS
    threads._automatic_threads.cache_clear()
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    assert threads.choose_threads(0) == 1  # a busy 2-core machine: never below 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose_threads(0) == 3
    monkeypatch.setenv(threads.ENV_VARIABLE, "5")
    assert threads.choose_threads(0) == 5  # ours before OMP_NUM_THREADS
    assert threads.choose_threads(2) == 2  # --set threads=2 before both
    monkeypatch.setenv(threads.ENV_VARIABLE, "many")
    with pytest.raises(ConfigError, match="SEQGAN_MUSIC_THREADS = 'many'"):
        threads.choose_threads(0)
    threads._automatic_threads.cache_clear()


def test_trainer_uses_the_chosen_threads(monkeypatch: pytest.MonkeyPatch,
                                         tiny_config: ExperimentConfig) -> None:
    import torch

    from seqgan_music.training import Corpus, Trainer

    data = torch.zeros(4, 6, dtype=torch.int64)
    before = torch.get_num_threads()
    monkeypatch.setenv("SEQGAN_MUSIC_THREADS", "1")
    try:
        Trainer(tiny_config, Corpus(data, data, data, 8))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)

"""What a newcomer meets first: bare commands, --version, -h, progress in logs (issue 12)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

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
    from seqgan_music.errors import ConfigError
    from seqgan_music.runtime import threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(threads.ENV_VARIABLE, raising=False)
    monkeypatch.setattr(threads, "available_cpus", lambda: 16)
    monkeypatch.setattr(threads, "busy_cpus", lambda: 3.7)
    threads._automatic_threads.cache_clear()
    assert threads.choose_threads(0) == 8  # 16 - 3 busy, capped at MAX_AUTO_THREADS
    threads._automatic_threads.cache_clear()
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    assert threads.choose_threads(0) == 1  # a busy 2-core machine: never below 1
    assert threads.describe_threads(0).startswith("1 thread (2 CPUs, 3.7 busy;")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose_threads(0) == 3
    monkeypatch.setenv(threads.ENV_VARIABLE, "5")
    assert threads.choose_threads(0) == 5  # ours before OMP_NUM_THREADS
    assert threads.choose_threads(2) == 2  # --set threads=2 before both
    assert threads.describe_threads(2) == "2 threads (threads = 2 in the config)"
    assert threads.describe_threads(0) == "5 threads ($SEQGAN_MUSIC_THREADS)"
    monkeypatch.setenv(threads.ENV_VARIABLE, "many")
    with pytest.raises(ConfigError, match="SEQGAN_MUSIC_THREADS = 'many'"):
        threads.choose_threads(0)
    threads._automatic_threads.cache_clear()


def test_trainer_uses_the_chosen_threads(monkeypatch: pytest.MonkeyPatch,
                                         tiny_config: ExperimentConfig) -> None:
    import torch

    from seqgan_music.trainer.loop import Corpus, Trainer

    data = torch.zeros(4, 6, dtype=torch.int64)
    before = torch.get_num_threads()
    monkeypatch.setenv("SEQGAN_MUSIC_THREADS", "1")
    try:
        Trainer(tiny_config, Corpus(data, data, data, 8))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_output_format_follows_the_suffix() -> None:
    from seqgan_music.app.model import output_format
    from seqgan_music.errors import ConfigError
    from seqgan_music.tasks import load_task

    music, poems = load_task("nottingham"), load_task("poems")
    assert output_format(music, Path("a.MID")) == "export"
    assert output_format(music, Path("a.txt")) == "text"
    assert output_format(poems, Path("p.txt")) == "export"
    assert output_format(poems, Path("p.jsonl")) == "jsonl"
    with pytest.raises(ConfigError, match=r"--out p.mid does not suit a poems model.*\.txt"):
        output_format(poems, Path("p.mid"))
    with pytest.raises(ConfigError, match="suffix .wav is not one of .mid, .midi, .abc, .txt"):
        output_format(music, Path("a.wav"))


def test_poems_print_in_lines_with_their_punctuation() -> None:
    from seqgan_music.tasks.text import format_poem

    assert format_poem("白日依山尽黄河入海流欲穷千里目更上一层楼") == (
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    assert format_poem("一二三四五六七" * 4, 7) == "一二三四五六七，一二三四五六七。" * 2
    assert format_poem("白日依山尽黄河") == "白日依山尽，黄河"  # a sample that stopped early


def test_write_samples_music_to_txt_and_poems_decoded(tmp_path: Path) -> None:
    import torch

    from seqgan_music.app.model import LoadedModel, write_samples
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.tasks import load_task
    from seqgan_music.text.tokenizers import Vocabulary

    tokens = torch.tensor([[5, 5, 0, 7]])
    music = LoadedModel(ExperimentConfig(), load_task("nottingham"), None, {"task": {}},
                        tmp_path)
    write_samples(music, tokens, tmp_path / "gen.txt")
    text = (tmp_path / "gen.txt").read_text(encoding="utf-8")
    assert text.count("\n") == 1 and not text.startswith("MThd")  # note names, not MIDI bytes
    write_samples(music, tokens, tmp_path / "gen.mid")
    assert (tmp_path / "gen.mid").read_bytes().startswith(b"MThd")
    poem = "白日依山尽黄河入海流欲穷千里目更上一层楼"
    vocab = Vocabulary.build([poem], "char", 1, None)
    poems = LoadedModel(ExperimentConfig(), load_task("poems"), None,
                        {"task": {"vocab": vocab.to_dict()}}, tmp_path)
    ids = torch.from_numpy(vocab.encode([poem], 20))
    write_samples(poems, ids, tmp_path / "p.jsonl")
    line = (tmp_path / "p.jsonl").read_text(encoding="utf-8").strip()
    assert json.loads(line) == {"text": "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"}


def test_generate_refuses_a_mismatched_suffix_before_writing(tmp_path: Path) -> None:
    from seqgan_music.app.compose import pretrained_model

    result = run("generate", "--model", str(pretrained_model()), "--out", str(tmp_path / "g.wav"))
    assert result.returncode == 1 and "does not suit a nottingham model" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_train_text_derives_seq_len_unless_set(tmp_path: Path) -> None:
    from seqgan_music.app.train import _derive_seq_len, build_config, sets_field
    from seqgan_music.tasks import load_task

    data = tmp_path / "mine.txt"
    data.write_text("".join(" ".join(["w"] * n) + "\n" for n in [3] * 39 + [30]),
                    encoding="utf-8")
    task = load_task("text")
    config = build_config(task, "quick")
    notes: list[str] = []

    class Notes:
        def note(self, text: str) -> None:
            notes.append(text)

    assert not sets_field(task, "quick", None, ["train.batch_size=4"], "data", "seq_len")
    _derive_seq_len(task, config, data, False, Notes())
    assert config.data.seq_len == 4 and "T = data.seq_len = 4 from the data" in notes[0]
    # filter windows longer than the derived T are dropped (said), so D can be built
    assert all(w <= 4 for w in config.discriminator.filter_widths)
    assert len(config.discriminator.num_filters) == len(config.discriminator.filter_widths)
    assert "filter widths" in notes[1]
    config.validate()
    assert sets_field(task, "quick", None, ["data.seq_len=9"], "data", "seq_len")
    toml = tmp_path / "c.toml"
    toml.write_text("[data]\nseq_len = 12\n", encoding="utf-8")
    assert sets_field(task, "default", toml, None, "data", "seq_len")
    poems = load_task("poems")  # a benchmark task keeps its paper T
    fixed = build_config(poems, "quick")
    _derive_seq_len(poems, fixed, None, False, Notes())
    assert fixed.data.seq_len == 20 and len(notes) == 2


def test_quick_preset_says_it_is_a_smoke_test() -> None:
    result = run("train", "-h")
    assert "quick (a smoke test" in " ".join(result.stdout.split())


JIG = ("X:1\nT:jig\nM:6/8\nL:1/8\nK:G\nGAB dBG|c2e dBG|\n\n"
       "X:2\nT:slow\nM:4/4\nL:1/4\nK:G\nG A B c|d2 B2|\n")


def test_primer_warns_of_notes_lost_to_the_grid_and_reads_one_tune(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seqgan_music.app.compose import read_primer
    from seqgan_music.errors import DataError, DataWarning
    from seqgan_music.music import readers

    path = tmp_path / "tunes.abc"
    path.write_text(JIG, encoding="utf-8")
    parsed: list[str] = []
    parse = readers.abc_melody_notes
    monkeypatch.setattr(readers, "abc_melody_notes",
                        lambda text, melody="auto": parsed.append(text) or parse(text, melody))
    with pytest.warns(DataWarning, match="loses 4 of its 11 notes to the model's 0.4 s grid"):
        jig = read_primer(path, {"step": 0.4})
    assert len(parsed) == 1 and "T:jig" in parsed[0]  # the other tune is never parsed
    assert (jig.notes, jig.lost, jig.tune, jig.num_tunes) == (11, 4, 1, 2)
    assert len(jig.tokens) == 7  # G A D B C E D: what the issue heard
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quarter notes at 120 qpm: nothing lost, no warning
        slow = read_primer(path, {"step": 0.4}, tune=2)
    assert (slow.notes, slow.lost, slow.tune) == (6, 0, 2)
    with pytest.raises(DataError, match=r"--tune 3 is invalid: .*tunes.abc holds 2 tune\(s\)"):
        read_primer(path, {"step": 0.4}, tune=3)


def test_compose_tune_option_is_checked(tmp_path: Path) -> None:
    result = run("compose", "--tune", "0", "--out", str(tmp_path / "t.mid"))
    assert result.returncode == 1 and "--tune = 0 is invalid" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_tasks_keeps_the_download_hint_whole_at_80_columns() -> None:
    import os

    result = subprocess.run([sys.executable, "-m", "seqgan_music", "tasks"], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "nottingham: missing: seqgan-music data download nottingham" in result.stdout
    assert "…" not in result.stdout  # no cell cut short


def test_oracle_table_is_rich_on_a_terminal_with_the_figure_labels() -> None:
    from seqgan_music.cli.train import _oracle_table
    from seqgan_music.tasks import FIGURE_LABELS
    from seqgan_music.tasks.oracle import BenchmarkResult

    rows = {"mle": {"nll_oracle": 9.1, "std": 0.5, "p_value": 0.01, "nll_test": 8.0},
            "seqgan": {"nll_oracle": 8.8, "std": 0.5, "p_value": float("nan")}}
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(_oracle_table(BenchmarkResult({"label": "x"}, rows)))
    text = buffer.getvalue()
    assert "|---|" not in text and "┃" in text and "8.800" in text
    assert FIGURE_LABELS["nll_oracle"] in text and FIGURE_LABELS["nll_test"] in text


def test_every_command_and_option_has_help_and_every_command_an_example() -> None:
    from typer.main import get_command

    from seqgan_music.cli.app import app

    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    for path, command in walk(get_command(app), "seqgan-music"):
        assert "Example: seqgan-music" in (command.help or ""), path
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option":
                assert param.help, f"{path} {param.opts[0]}"


def test_download_progress_in_logs_is_plain_lines(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    import importlib

    cli_app = importlib.import_module("seqgan_music.cli.train")  # the module, not the Typer app

    class Fake:
        def download(self, force: bool, progress: object) -> Path:
            for done in range(0, 1_000_001, 50_000):
                progress(done, 1_000_000)  # type: ignore[operator]
            return tmp_path

    monkeypatch.setattr("seqgan_music.tasks.load_task", lambda name: Fake())
    console = Console(file=io.StringIO(), force_terminal=False)
    assert cli_app._download(console, "fake", False) == tmp_path
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[-1] == "downloading fake: 1.0 MB of 1.0 MB"

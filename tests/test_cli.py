"""The command line as a user meets it: help, errors, and a tiny end-to-end run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_ORACLE_FLAGS


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seqgan_music", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_help_lists_commands_without_importing_torch() -> None:
    code = ("import sys; from seqgan_music.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert 'torch' not in sys.modules and 'music21' not in sys.modules, 'heavy import'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for command in ("train", "oracle", "tasks", "generate", "evaluate", "data", "compose"):
        assert command in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "oracle", "--bogus"], "No such option"),
    (["train", "no-such-task"], "task 'no-such-task' is unknown"),
    (["train", "oracle", "--config", "/no/such.toml"], "config file /no/such.toml does not exist"),
    (["train", "oracle", "--set", "train.batch_size=0", "--dry-run"], "train.batch_size = 0"),
    (["oracle", "--oracle-params", "/no/such.npz"], "/no/such.npz does not exist"),
    (["generate", "--model", "/no/such/run"], "model /no/such/run does not exist"),
    (["train", "oracle", "--preset", "huge", "--dry-run"], "preset 'huge' is unknown"),
    (["train", "oracle", "--method", "gail", "--preset", "quick"], "method 'gail' is unknown"),
    (["data", "download", "oracle"], "task oracle has no public download"),
    (["oracle", "--methods", "mle,gan"], "unknown method(s) gan"),
])
def test_user_errors_are_one_line_exit_1(args: list[str], message: str, tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-made (no empty run directory)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_one_line(tmp_path: Path) -> None:
    result = run("train", "oracle", *TINY_ORACLE_FLAGS[:-2], "--device", "cuda", "--out",
                 str(tmp_path))
    assert result.returncode == 1
    assert "no CUDA GPU is available" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_foreign_checkpoint_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x00junk")
    result = run("evaluate", "--model", str(bad))
    assert result.returncode == 1 and "not a seqgan-music checkpoint" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_dry_run_prints_resolved_config() -> None:
    result = run("train", "oracle", "--preset", "paper", "--dry-run", "--set",
                 "rollout.num_rollouts=8")
    assert result.returncode == 0, result.stderr
    assert "num_rollouts = 8" in result.stdout and "pretrain_epochs = 120" in result.stdout


def test_train_generate_evaluate_resume_end_to_end(tmp_path: Path) -> None:
    result = run("train", "oracle", *TINY_ORACLE_FLAGS, "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "runs" / "oracle").iterdir())
    assert len(runs) == 1
    run_dir = runs[0]
    for name in ("config.toml", "metrics.jsonl", "checkpoints/latest.pt", "checkpoints/mle.pt",
                 "samples/seqgan.txt"):
        assert (run_dir / name).exists()
    assert "SeqGAN" in result.stdout and "MLE" in result.stdout

    out = run("generate", "--model", str(run_dir), "-n", "3", "--seed", "4")
    again = run("generate", "--model", str(run_dir), "-n", "3", "--seed", "4")
    assert out.returncode == 0 and out.stdout == again.stdout
    assert len(out.stdout.strip().splitlines()) == 3

    target = tmp_path / "samples.txt"
    assert run("generate", "--model", str(run_dir), "--out", str(target)).returncode == 0
    refused = run("generate", "--model", str(run_dir), "--out", str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr

    figures = tmp_path / "figures.json"
    evaluated = run("evaluate", "--model", str(run_dir), "--json", str(figures), "-n", "8")
    assert evaluated.returncode == 0, evaluated.stderr
    data = json.loads(figures.read_text())
    assert set(data) == {"MLE", "SeqGAN"} and "nll_oracle" in data["SeqGAN"]
    assert data["MLE"] != data["SeqGAN"]
    kept = run("evaluate", "--model", str(run_dir), "--json", str(figures), "-n", "8")
    assert kept.returncode == 1 and "--force" in kept.stderr

    mle_before = (run_dir / "checkpoints" / "mle.pt").read_bytes()
    resumed = run("train", "oracle", "--resume", str(run_dir))  # already finished: no-op
    assert resumed.returncode == 0, resumed.stderr
    assert (run_dir / "checkpoints" / "mle.pt").read_bytes() == mle_before


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "seqgan_music", "train", "oracle", *TINY_ORACLE_FLAGS,
         "--set", "train.pretrain_epochs=100000", "--set", "train.checkpoint_every=1",
         "--out", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(tmp_path.glob("oracle/*/checkpoints/*.pt")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)  # a guard against a hang, not a time bound
    assert proc.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    assert list(tmp_path.glob("oracle/*/checkpoints/latest.pt"))


@pytest.mark.slow
def test_oracle_command_tiny(tmp_path: Path) -> None:
    result = run("oracle", *TINY_ORACLE_FLAGS, "--methods", "random,mle,seqgan", "--out",
                 str(tmp_path / "bench"))
    assert result.returncode == 0, result.stderr
    assert "| SeqGAN |" in result.stdout and "NOT comparable" in result.stdout
    assert (tmp_path / "bench" / "curves.png").exists()


def test_tasks_lists_oracle() -> None:
    result = run("tasks")
    assert result.returncode == 0 and "oracle" in result.stdout


def test_evaluate_reproduces_the_training_table(tmp_path: Path) -> None:
    """Same model, same evaluation seed and sample count: the figures `train` printed."""
    from seqgan_music.app.train import evaluate_run, train

    flags = TINY_ORACLE_FLAGS
    overrides = [flags[i + 1] for i, flag in enumerate(flags) if flag == "--set"]
    outcome = train("oracle", preset="quick", overrides=overrides, out_root=tmp_path,
                    device="cpu")
    evaluated = evaluate_run(outcome.run_dir)
    assert set(outcome.figures) == {"MLE", "SeqGAN"}
    assert evaluated.figures == outcome.figures
    assert evaluated.evaluation == outcome.evaluation
    assert outcome.evaluation.startswith("16 samples per model, drawn with evaluation seed 8007")

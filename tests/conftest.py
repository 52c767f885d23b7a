"""Shared fixtures: tiny configs (V = 8 tokens, T = 6 steps) and the staged oracle file."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from seqgan_music.config import ExperimentConfig

SHARED_ORACLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "oracle" / (
    "target_params.npz")

TINY = {
    "data": {"seq_len": 6, "vocab_size": 8},
    "generator": {"embedding_dim": 8, "hidden_dim": 16},
    "discriminator": {"embedding_dim": 8, "filter_widths": [1, 2, 3], "num_filters": [4, 4, 4]},
    "rollout": {"num_rollouts": 3, "chunk_size": 7},
    "train": {"batch_size": 4, "pretrain_epochs": 2, "d_pretrain_steps": 1,
              "d_pretrain_epochs": 1, "adversarial_iterations": 2, "d_steps": 1, "d_epochs": 1,
              "eval_every": 1, "checkpoint_every": 1, "num_eval_samples": 16},
}

# Flags that make `seqgan-music train oracle` / `oracle` take a second or two.
TINY_ORACLE_FLAGS = [
    "--preset", "quick",
    "--set", "data.vocab_size=12", "--set", "data.seq_len=6",
    "--set", "task_options.num_train=24", "--set", "task_options.num_valid=8",
    "--set", "task_options.num_test=8", "--set", "task_options.oracle_dim=4",
    "--set", "generator.embedding_dim=4", "--set", "generator.hidden_dim=8",
    "--set", "discriminator.embedding_dim=4", "--set", "discriminator.filter_widths=[1, 2]",
    "--set", "discriminator.num_filters=[3, 3]", "--set", "train.batch_size=8",
    "--set", "train.pretrain_epochs=2", "--set", "train.adversarial_iterations=2",
    "--set", "train.num_eval_samples=16", "--set", "train.pg_bleu_references=0",
    "--set", "rollout.num_rollouts=2", "--device", "cpu",
]


@pytest.fixture
def tiny_config() -> ExperimentConfig:
    return ExperimentConfig.from_dict(TINY)


@pytest.fixture
def oracle_params() -> Path:
    if not SHARED_ORACLE.is_file():
        pytest.skip("the official oracle parameters (../shared/data/oracle) are not present")
    return SHARED_ORACLE


@pytest.fixture(scope="session", autouse=True)
def _test_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test (and CLI subprocess) uses a private cache and a wide terminal, and Ctrl-C
    reaches the subprocesses: a suite started in the background by a non-interactive shell
    (`bash .ci/run &`) inherits SIGINT ignored, which exec keeps, so the Ctrl-C tests' commands
    would never see their signal. Python's handler here makes the children start with the
    default disposition."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ["SEQGAN_MUSIC_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    os.environ["COLUMNS"] = "200"
    os.environ.pop("SEQGAN_MUSIC_DATA", None)
    os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEQGAN_MUSIC_DATA", raising=False)


SHARED_NOTTINGHAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "nottingham"


def write_tune(path: Path, pitches: list[int | None], step: float = 0.4, program: int = 0,
               chords: list[int] | None = None) -> Path:
    """A MIDI file whose melody holds pitches[k] (None = rest) during step k; with `chords`,
    a second, lower track holds those pitches all along (like jukedeck's two-track files)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    melody = pretty_midi.Instrument(program=program)
    for k, pitch in enumerate(pitches):
        if pitch is not None:
            melody.notes.append(pretty_midi.Note(90, pitch, k * step, (k + 1) * step))
    midi.instruments.append(melody)
    if chords:
        accompaniment = pretty_midi.Instrument(program=0)
        for pitch in chords:
            accompaniment.notes.append(pretty_midi.Note(90, pitch, 0.0, len(pitches) * step))
        midi.instruments.append(accompaniment)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.write(str(path))
    return path


def random_tunes(folder: Path, num: int = 8, steps: int = 80, seed: int = 0) -> Path:
    """`num` random-walk folk-ish melodies (D major) as MIDI files in `folder`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    scale = [62, 64, 66, 67, 69, 71, 73, 74, 76, 78, 79, 81]
    for i in range(num):
        position = int(rng.integers(0, len(scale)))
        pitches: list[int | None] = []
        for _ in range(steps):
            position = int(np.clip(position + rng.integers(-2, 3), 0, len(scale) - 1))
            pitches.append(scale[position] if rng.random() > 0.05 else None)
        write_tune(folder / f"tune{i}.mid", pitches)
    return folder


def help_in_fresh_process(args: list[str], forbidden: tuple[str, ...]) -> str:
    """`seqgan-music ARGS` (a --help) in a fresh interpreter; asserts it exits 0 without
    importing any of the `forbidden` modules and returns what it printed."""
    import subprocess
    import sys

    code = ("import sys; from seqgan_music.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert e.code == 0\n"
            f"heavy = [m for m in {forbidden!r} if m in sys.modules]\n"
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout

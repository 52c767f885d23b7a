"""Shared fixtures: tiny configs (V = 8 tokens, T = 6 steps) and the staged oracle file."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEQGAN_MUSIC_DATA", raising=False)
    os.environ.setdefault("OMP_NUM_THREADS", "2")

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqgan_music.config import ExperimentConfig
from seqgan_music.core.oracle import PARAM_NAMES, OracleLSTM
from seqgan_music.errors import ConfigError, DataError
from seqgan_music.tasks.oracle import load_oracle, run_benchmark, summarise

EXAMPLE = [927, 2484, 4489, 4717, 2237, 3613, 4511, 1112, 3033, 3927, 696, 4734, 687, 1508, 2843,
           4538, 3913, 3993, 3305, 4616]


def test_reference_values_of_the_official_oracle(oracle_params: Path) -> None:
    oracle = OracleLSTM.from_npz(oracle_params)
    first = oracle.log_probs(torch.tensor([[3918]])).exp().item()
    assert first == pytest.approx(0.026177, abs=1e-5)
    assert oracle.nll(torch.tensor([EXAMPLE])) == pytest.approx(5.540952, abs=1e-5)
    lp = oracle.log_probs(torch.tensor([EXAMPLE[:4]]))
    assert lp[0, 3].exp().item() == pytest.approx(0.00931287, rel=1e-4)
    # the oracle's own samples score at its entropy rate (~5.75)
    samples = oracle.sample(2000, 20, generator=torch.Generator().manual_seed(0))
    assert 5.65 < oracle.nll(samples) < 5.85


def test_numpy_reference_agrees_with_torch_oracle() -> None:
    rng = np.random.default_rng(3)
    p = {k: rng.standard_normal((30, 6) if k == "embedding" else (6, 30) if k == "W_out" else
                                (30,) if k == "b_out" else (6,) if k.startswith("b_") else (6, 6)
                                ).astype(np.float32) for k in PARAM_NAMES}
    oracle = OracleLSTM(p)

    def sig(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    seq = [4, 17, 2, 29, 0]
    h = np.zeros(6, np.float32)
    c = np.zeros(6, np.float32)
    expected = []
    for prev, tok in zip([0, *seq[:-1]], seq, strict=False):
        x = p["embedding"][prev]
        i = sig(x @ p["W_i"] + h @ p["U_i"] + p["b_i"])
        f = sig(x @ p["W_f"] + h @ p["U_f"] + p["b_f"])
        o = sig(x @ p["W_o"] + h @ p["U_o"] + p["b_o"])
        g = np.tanh(x @ p["W_c"] + h @ p["U_c"] + p["b_c"])
        c = f * c + i * g
        h = o * np.tanh(c)
        logits = h @ p["W_out"] + p["b_out"]
        expected.append(logits[tok] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())
    got = oracle.log_probs(torch.tensor([seq]))[0].numpy()
    assert np.allclose(got, expected, atol=1e-4)


def test_random_oracle_is_labelled_and_reproducible() -> None:
    config = ExperimentConfig.from_dict({"data": {"vocab_size": 40, "seq_len": 20},
                                         "task_options": {"oracle_dim": 4}})
    a, spec = load_oracle(config)
    b, _ = load_oracle(config)
    assert spec["oracle"] == "random" and "NOT comparable" in spec["label"]
    assert torch.equal(a.generator.head.weight, b.generator.head.weight)
    with pytest.raises(DataError, match="do not exist"):
        load_oracle(config, "/no/such/file.npz")
    config.task_options["num_trian"] = 5
    with pytest.raises(ConfigError, match="task_options.num_trian"):
        load_oracle(config)


def test_summary_has_p_values_against_seqgan() -> None:
    rng = np.random.default_rng(0)
    rows = summarise({"mle": rng.normal(9.0, 1, 500), "seqgan": rng.normal(8.7, 1, 500)})
    assert rows["mle"]["p_value"] < 1e-3
    assert rows["seqgan"]["p_value"] != rows["seqgan"]["p_value"]  # nan for the reference


@pytest.mark.slow
def test_benchmark_end_to_end_tiny(tiny_config: ExperimentConfig, tmp_path: Path) -> None:
    tiny_config.task_options.update({"num_train": 16, "num_valid": 4, "num_test": 4,
                                     "oracle_dim": 4})
    result = run_benchmark(tiny_config, ["random", "mle", "ss", "pg-bleu", "seqgan"], tmp_path)
    assert list(result.rows) == ["random", "mle-1", "mle", "ss", "pg-bleu", "seqgan"]
    for name in ("table.md", "table.json", "curves.csv", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    text = (tmp_path / "table.md").read_text()
    assert "SeqGAN" in text and "NOT comparable" in text
    # NLL-test and distinct samples beside NLL-oracle, the protocol of every row
    header = text.splitlines()[2]
    assert "NLL-test" in header and "distinct samples" in header and "paper's selection" in header
    assert "G after one MLE epoch" in text and "Protocols:" in text
    assert "reward BLEU-4 (method1)" in result.protocols["pg-bleu"]
    num = tiny_config.train.num_eval_samples
    for method, row in result.rows.items():
        assert 1 <= row["distinct"] <= num == row["num_samples"], method
        assert ("nll_test" in row) == (method not in ("random", "mle-1"))
        assert method in result.protocols
    assert result.rows["random"]["distinct"] == num  # uniform tokens: no repeats at this size
    assert "best_nll_oracle" in result.rows["seqgan"]
    assert "best_nll_oracle" not in result.rows["mle"]
    # the one-epoch model is the MLE run's first epoch: between the untrained G and the MLE end
    assert result.rows["mle-1"]["nll_oracle"] != result.rows["mle"]["nll_oracle"]
    # every trained method started from the same MLE model
    start = torch.load(tmp_path / "mle" / "checkpoints" / "mle.pt", weights_only=True)
    assert start["progress"] == {"mle": tiny_config.train.pretrain_epochs}
    # a second call continues from the finished runs instead of retraining
    again = run_benchmark(tiny_config, ["mle", "seqgan"], tmp_path)
    assert again.rows["seqgan"]["nll_oracle"] == result.rows["seqgan"]["nll_oracle"]
    # PG-BLEU's protocol decides only PG-BLEU: the finished MLE and SeqGAN runs are reused
    tiny_config.train.pg_bleu_smoothing = "nltk-3.2.1"
    again = run_benchmark(tiny_config, ["mle", "seqgan"], tmp_path)
    assert again.rows["seqgan"]["nll_oracle"] == result.rows["seqgan"]["nll_oracle"]
    with pytest.raises(ConfigError, match="another configuration"):
        run_benchmark(tiny_config, ["pg-bleu"], tmp_path)
    tiny_config.train.adversarial_iterations += 1
    kept = (tmp_path / "mle" / "config.toml").read_bytes()
    with pytest.raises(ConfigError, match="another configuration"):
        run_benchmark(tiny_config, ["mle"], tmp_path)
    assert (tmp_path / "mle" / "config.toml").read_bytes() == kept  # refused before writing


def test_benchmark_folder_is_locked(tiny_config: ExperimentConfig, tmp_path: Path) -> None:
    from seqgan_music.errors import CheckpointError
    from seqgan_music.io.runs import run_lock

    tiny_config.task_options.update({"num_train": 16, "num_valid": 4, "num_test": 4,
                                     "oracle_dim": 4})
    with run_lock(tmp_path), pytest.raises(CheckpointError, match="in use"):
        run_benchmark(tiny_config, ["mle"], tmp_path)
    assert not (tmp_path / "mle").exists()


@pytest.mark.parametrize("damage", ["shape", "nan", "missing"])
def test_damaged_oracle_parameters_are_one_clear_error(tmp_path: Path, damage: str) -> None:
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal((30, 6) if k == "embedding" else (6, 30) if k == "W_out"
                                     else (30,) if k == "b_out" else (6,) if k.startswith("b_")
                                     else (6, 6)).astype(np.float32) for k in PARAM_NAMES}
    if damage == "shape":
        params["U_f"] = params["U_f"][:, :5]
    elif damage == "nan":
        params["b_out"][3] = np.nan
    else:
        del params["W_c"]
    np.savez(tmp_path / "bad.npz", **params)
    config = ExperimentConfig.from_dict({"data": {"vocab_size": 30, "seq_len": 20}})
    with pytest.raises(DataError, match="cannot be read: .*(U_f has shape|b_out holds NaN|W_c)"):
        load_oracle(config, tmp_path / "bad.npz")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("pg_bleu_smoothing", "method7", "method1 or nltk-3.2.1 or none"),
    ("pg_bleu_reference_fraction", 1.5, r"a number in \[0, 1\]"),
    ("pg_bleu_rollout_policy", "beta", "delayed or generator"),
    ("pg_bleu_lr", -1.0, "0 \\(= train.generator_lr\\)"),
    ("pg_bleu_rollouts", -1, "an integer >= 0"),
    ("pg_bleu_iterations", -2, "an integer >= 0"),
])
def test_pg_bleu_options_are_validated_in_one_line(field: str, value: object,
                                                   message: str) -> None:
    with pytest.raises(ConfigError, match=f"train.{field} = .*{message}") as error:
        ExperimentConfig.from_dict({"train": {field: value}})
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="give one of them"):
        ExperimentConfig.from_dict({"train": {"pg_bleu_reference_fraction": 0.4,
                                              "pg_bleu_references": 100}})


def test_paper_preset_uses_the_official_pg_bleu_protocol() -> None:
    from seqgan_music.app.train import build_config
    from seqgan_music.tasks import load_task
    from seqgan_music.tasks.oracle import describe_protocol

    config = build_config(load_task("oracle"), "paper", None, None, None, None)
    t = config.train
    assert (t.pg_bleu_n, t.pg_bleu_smoothing, t.pg_bleu_reference_fraction, t.pg_bleu_rollouts,
            t.pg_bleu_rollout_policy, t.pg_bleu_reward_baseline, t.pg_bleu_lr,
            t.pg_bleu_iterations) == (3, "nltk-3.2.1", 0.4, 1, "generator", False, 0.001, 800)
    assert describe_protocol(config, "pg-bleu") == (
        "MLE start + 800 iterations; reward BLEU-3 (nltk-3.2.1) against 40% of training "
        "sequences, 1 roll-out by G itself, no baseline, Adam 0.001")


def test_pg_bleu_trainer_follows_its_protocol(tiny_config: ExperimentConfig) -> None:
    from seqgan_music.tasks.oracle import load_oracle, oracle_corpus
    from seqgan_music.trainer.loop import Trainer

    tiny_config.task_options.update({"num_train": 20, "num_valid": 4, "num_test": 4,
                                     "oracle_dim": 4})
    tiny_config.train.pg_bleu_rollouts = 3
    tiny_config.train.pg_bleu_rollout_policy = "generator"
    tiny_config.train.pg_bleu_lr = 0.003
    tiny_config.train.pg_bleu_iterations = 2
    tiny_config.train.pg_bleu_reference_fraction = 0.25
    tiny_config.train.pg_bleu_n = 3
    tiny_config.train.pg_bleu_smoothing = "nltk-3.2.1"
    oracle, spec = load_oracle(tiny_config)
    corpus = oracle_corpus(tiny_config, oracle, spec)
    trainer = Trainer(tiny_config, corpus, method="pg-bleu")
    assert trainer.rollout.config.num_rollouts == 3
    assert trainer.rollout.policy is trainer.generator  # rolled out by G itself
    assert trainer.generator_optimizer.param_groups[0]["lr"] == 0.003
    assert trainer.phase_totals()["pg_bleu"] == 2
    scores = trainer._bleu()(corpus.train[:5])
    assert scores.shape == (5,) and bool((scores > 0).all())
    seqgan = Trainer(tiny_config, corpus, method="seqgan")  # SeqGAN keeps its own settings
    assert seqgan.rollout.config.num_rollouts == tiny_config.rollout.num_rollouts
    assert seqgan.generator_optimizer.param_groups[0]["lr"] == tiny_config.train.generator_lr

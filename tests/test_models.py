from __future__ import annotations

import pytest
import torch

from seqgan_music.config import DiscriminatorConfig, ExperimentConfig
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.generator import (
    Generator,
    linear_cross_entropy,
    sample_categorical,
    sample_next,
    sample_weights,
)


def test_generator_shapes_and_log_probs(tiny_config: ExperimentConfig) -> None:
    torch.manual_seed(0)
    g = Generator(tiny_config.generator, 8)
    y = torch.randint(0, 8, (5, 6))
    logits, _ = g(g.shift_right(y))
    assert logits.shape == (5, 6, 8)
    lp = g.log_probs(y)
    assert lp.shape == (5, 6) and bool((lp <= 0).all())
    # teacher-forced log-probabilities agree with the mean NLL
    assert torch.isclose(-lp.mean(), g.nll(y), atol=1e-6)


def test_generator_sample_range_reproducible_and_prefix(tiny_config: ExperimentConfig) -> None:
    torch.manual_seed(0)
    g = Generator(tiny_config.generator, 8)
    a = g.sample(50, 7, generator=torch.Generator().manual_seed(3))
    b = g.sample(50, 7, generator=torch.Generator().manual_seed(3))
    assert a.shape == (50, 7) and a.dtype == torch.long
    assert int(a.min()) >= 0 and int(a.max()) < 8
    assert torch.equal(a, b)
    prefix = torch.tensor([1, 2, 3])
    c = g.sample(4, 5, prefix=prefix, generator=torch.Generator().manual_seed(1))
    assert c.shape == (4, 5)


def test_sampler_cell_matches_nn_lstm(tiny_config: ExperimentConfig) -> None:
    """The table-driven cell used for sampling computes the same states as nn.LSTM."""
    torch.manual_seed(0)
    g = Generator(tiny_config.generator, 8)
    y = torch.randint(0, 8, (3, 6))
    inputs = g.shift_right(y)
    logits, _ = g(inputs)
    table, w_hh = g.cell_tables()
    state = g.initial_state(3, torch.device("cpu"))
    for t in range(6):
        state = g.cell(table[inputs[:, t]], w_hh, state)
        assert torch.allclose(g.head(state[0]), logits[:, t], atol=1e-5)


def test_prefix_continuation_follows_the_prefix(tiny_config: ExperimentConfig) -> None:
    """A generator that copies its input token continues a prefix with that token."""
    g = Generator(tiny_config.generator, 8)
    with torch.no_grad():
        for p in g.parameters():
            p.zero_()
        # logits depend on the last input only through the embedding -> hidden path; instead
        # make the output layer ignore h and always prefer token 5
        g.head.bias[5] = 50.0
    out = g.sample(3, 4, prefix=torch.tensor([[1, 2], [3, 4], [0, 0]]))
    assert bool((out == 5).all())


def test_sample_categorical_matches_probabilities() -> None:
    probs = torch.tensor([0.1, 0.6, 0.0, 0.3])
    logits = probs.clamp_min(1e-30).log().expand(40000, 4)
    draws = sample_categorical(logits, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).float() / len(draws)
    assert torch.allclose(freq, probs, atol=0.01)
    assert int((draws == 2).sum()) == 0
    # temperature sharpens; chunked sampling agrees in distribution
    cold = sample_categorical(logits, temperature=0.2, generator=torch.Generator().manual_seed(0))
    assert (cold == 1).float().mean() > 0.9
    hidden = torch.randn(3000, 4)
    weight = torch.zeros(4, 4)
    bias = probs.clamp_min(1e-30).log()
    chunked = sample_next(hidden, weight, bias, generator=torch.Generator().manual_seed(1),
                          chunk_rows=64)
    assert torch.allclose(torch.bincount(chunked, minlength=4).float() / 3000, probs, atol=0.03)


def test_discriminator_shapes_and_width_check() -> None:
    config = DiscriminatorConfig(embedding_dim=8, filter_widths=[1, 2, 6], num_filters=[3, 4, 5])
    d = Discriminator(config, vocab_size=8, seq_len=6)
    logits = d(torch.randint(0, 8, (7, 6)))
    assert logits.shape == (7,)
    assert d.highway.transform.weight.shape == (12, 12)
    assert d.highway.transform is not d.highway.gate
    with pytest.raises(ValueError, match="exceed the sequence length"):
        Discriminator(config, vocab_size=8, seq_len=5)
    assert float(d.l2_penalty().detach()) >= 0


def test_official_discriminator_preset_is_the_default() -> None:
    config = ExperimentConfig()
    d = config.discriminator
    assert d.filter_widths == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20]
    assert d.num_filters == [100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160]
    # the official code's highway gate bias (0), its softmax penalty 0.2 as one logit's 0.1,
    # and its initialisation
    assert (d.embedding_dim, d.dropout, d.l2_reg) == (64, 0.25, 0.1)
    assert (d.highway_gate_bias, d.init) == (0.0, "official")


@torch.no_grad()
def test_official_initialisation() -> None:
    torch.manual_seed(0)
    config = DiscriminatorConfig(embedding_dim=16, filter_widths=[2, 3], num_filters=[50, 60])
    d = Discriminator(config, vocab_size=300, seq_len=5)
    emb = d.embedding.weight
    assert float(emb.min()) >= -1 and float(emb.max()) <= 1 and float(emb.abs().mean()) > 0.4
    for layer in (*d.convs, d.out):
        assert float(layer.weight.abs().max()) <= 0.2 + 1e-6  # truncated at two std of 0.1
        assert torch.all(layer.bias == 0.1)
    assert 0.08 < float(torch.cat([c.weight.flatten() for c in d.convs]).std()) < 0.095
    assert abs(float(d.highway.gate.bias.mean())) < 0.1  # gate bias 0, not -2
    shifted = Discriminator(DiscriminatorConfig(
        embedding_dim=16, filter_widths=[2], num_filters=[50], highway_gate_bias=-2.0), 300, 5)
    assert float(shifted.highway.gate.bias.mean()) < -1.8
    pytorch = Discriminator(DiscriminatorConfig(embedding_dim=16, filter_widths=[2],
                                                num_filters=[50], init="pytorch"), 300, 5)
    assert float(pytorch.embedding.weight.abs().max()) > 1  # N(0, 1)


def test_discriminator_reads_conv1d_checkpoints() -> None:
    """Checkpoints written when the convolutions were Conv1d (weights (F, E, w)) still load."""
    config = DiscriminatorConfig(embedding_dim=4, filter_widths=[2, 3], num_filters=[3, 2])
    d = Discriminator(config, vocab_size=6, seq_len=5)
    old = {k: (v.squeeze(2).clone() if k.startswith("convs.") and v.dim() == 4 else v.clone())
           for k, v in d.state_dict().items()}
    assert old["convs.0.weight"].shape == (3, 4, 2)
    other = Discriminator(config, vocab_size=6, seq_len=5)
    other.load_state_dict(old)
    tokens = torch.randint(0, 6, (4, 5))
    assert torch.equal(other.eval()(tokens), d.eval()(tokens))
    assert other.convs[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_score_completions_equals_forward_on_each_completion() -> None:
    torch.manual_seed(0)
    config = DiscriminatorConfig(embedding_dim=8, filter_widths=[1, 2, 4, 7], num_filters=[3, 4,
                                                                                       5, 2])
    d = Discriminator(config, vocab_size=8, seq_len=7).eval()
    sequences = torch.randint(0, 8, (3, 7))
    completions = torch.randint(0, 8, (6, 3, 2, 7))
    for t in range(1, 7):  # completions keep their prefix
        completions[t - 1, :, :, :t] = sequences[:, None, :t]
    with torch.no_grad():
        shared = d.score_completions(completions, sequences)
        direct = d(completions.reshape(-1, 7)).reshape(6, 3, 2)
    assert torch.allclose(shared, direct, atol=1e-5)


@pytest.mark.parametrize("vocab", [64, 200])
def test_two_level_sampler_draws_from_the_distribution(vocab: int) -> None:
    """Blocks of 64 columns plus a short last block; several draws per row."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, vocab, generator=gen) * 2
    logits[0, 5] = -float("inf")  # a zero-probability token is never drawn
    probs = torch.softmax(logits, dim=1)
    draws = sample_weights(probs, generator=gen, num_samples=60000)  # (2, 60000)
    assert draws.shape == (2, 60000)
    for row in range(2):
        freq = torch.bincount(draws[row], minlength=vocab).float() / 60000
        assert torch.allclose(freq, probs[row], atol=0.006)
    assert int((draws[0] == 5).sum()) == 0


@pytest.mark.parametrize("task_name", ["oracle", "nottingham", "poems"])
def test_paper_presets_use_the_official_discriminator(task_name: str) -> None:
    from seqgan_music.app.train import build_config
    from seqgan_music.tasks import load_task

    config = build_config(load_task(task_name), "paper")
    d, official = config.discriminator, ExperimentConfig().discriminator
    assert d == official
    assert (d.highway_gate_bias, d.l2_reg, d.init, d.dropout) == (0.0, 0.1, "official", 0.25)
    assert sum(d.num_filters) == 1720 and config.rollout.rollout_update_rate == 0.8


@pytest.mark.parametrize("rows", [1, 7, 40])
def test_fused_linear_cross_entropy_equals_the_plain_loss_and_gradients(rows: int) -> None:
    torch.manual_seed(0)
    hidden = torch.randn(rows, 6, requires_grad=True)
    weight = torch.randn(11, 6, requires_grad=True)
    bias = torch.randn(11, requires_grad=True)
    targets = torch.randint(0, 11, (rows,))
    plain = torch.nn.functional.cross_entropy(hidden @ weight.t() + bias, targets)
    expected = torch.autograd.grad(2.0 * plain, (hidden, weight, bias))
    fused = linear_cross_entropy(hidden, weight, bias, targets, chunk=3)  # several chunks
    got = torch.autograd.grad(2.0 * fused, (hidden, weight, bias))
    assert torch.allclose(fused, plain, atol=1e-6)
    for a, b in zip(got, expected, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_fused_cross_entropy_keeps_precision_when_the_target_probability_underflows() -> None:
    hidden = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    weight = torch.tensor([[150.0, 0.0], [-150.0, 0.0], [0.0, 3.0]], requires_grad=True)
    bias = torch.zeros(3, requires_grad=True)
    targets = torch.tensor([1, 2, 1])  # p = exp(-300) and exp(-147) underflow float32
    plain = torch.nn.functional.cross_entropy(hidden @ weight.t() + bias, targets)
    fused = linear_cross_entropy(hidden, weight, bias, targets, chunk=2)
    assert torch.isfinite(fused) and torch.allclose(fused, plain, rtol=1e-6)


def test_weighted_nll_is_the_reinforce_loss(tiny_config: ExperimentConfig) -> None:
    torch.manual_seed(0)
    g = Generator(tiny_config.generator, 8)
    y = torch.randint(0, 8, (5, 6))
    q = torch.randn(5, 6)  # signed, as with a reward baseline
    expected = -(g.log_probs(y) * q).sum()
    want = torch.autograd.grad(expected, list(g.parameters()))
    got_loss = g.weighted_nll(y, q)
    got = torch.autograd.grad(got_loss, list(g.parameters()))
    assert torch.allclose(got_loss, expected, atol=1e-5)
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, atol=1e-5)

from __future__ import annotations

import torch

from seqgan_music.config import ExperimentConfig, RolloutConfig
from seqgan_music.core.discriminator import Discriminator
from seqgan_music.core.generator import Generator
from seqgan_music.core.rollout import DiscriminatorScorer, Rollout
from tests.reference import straightforward_rewards


def _models(config: ExperimentConfig) -> tuple[Generator, Discriminator]:
    torch.manual_seed(0)
    g = Generator(config.generator, 8)
    d = Discriminator(config.discriminator, 8, 6)
    return g, d


def test_rewards_shape_range_and_final_column(tiny_config: ExperimentConfig) -> None:
    g, d = _models(tiny_config)
    rollout = Rollout(g, tiny_config.rollout)
    y = g.sample(5, 6, generator=torch.Generator().manual_seed(0))
    scorer = DiscriminatorScorer(d, precision="float32")
    q = rollout.rewards(y, scorer, generator=torch.Generator().manual_seed(1))
    assert q.shape == (5, 6)
    assert bool(((q >= 0) & (q <= 1)).all())
    assert d.training  # the scorer restores training mode
    d.eval()
    with torch.no_grad():
        assert torch.allclose(q[:, -1], torch.sigmoid(d(y)), atol=1e-6)


def test_constant_discriminator_gives_constant_rewards(tiny_config: ExperimentConfig) -> None:
    g, _ = _models(tiny_config)
    rollout = Rollout(g, tiny_config.rollout)
    y = g.sample(4, 6)
    q = rollout.rewards(y, lambda seqs: torch.full((seqs.shape[0],), 0.37))
    assert torch.allclose(q, torch.full((4, 6), 0.37))


def test_completions_keep_prefixes_and_cover_all_rows(tiny_config: ExperimentConfig) -> None:
    g, _ = _models(tiny_config)
    rollout = Rollout(g, tiny_config.rollout)  # chunk_size 7 < rows: exercises chunking
    y = g.sample(4, 6)
    completions = rollout.complete(y, generator=torch.Generator().manual_seed(0))
    assert completions.shape == (5, 4, 3, 6)
    for t in range(1, 6):
        prefix = completions[t - 1, :, :, :t]
        assert torch.equal(prefix, y[:, None, :t].expand(-1, 3, -1))
    assert int(completions.min()) >= 0 and int(completions.max()) < 8


def test_vectorised_rollout_equals_straightforward_loop(tiny_config: ExperimentConfig) -> None:
    """With a deterministic policy both implementations must give identical rewards."""
    g, d = _models(tiny_config)
    with torch.no_grad():
        g.head.weight.mul_(1e5)  # near-greedy: completions are deterministic
    config = RolloutConfig(num_rollouts=3, rollout_update_rate=0.0, chunk_size=5)
    rollout = Rollout(g, config)
    y = g.sample(4, 6)
    scorer = DiscriminatorScorer(d, precision="float32")
    fast = rollout.rewards(y, scorer)
    slow = straightforward_rewards(g, y, scorer, num_rollouts=3)
    assert torch.allclose(fast, slow, atol=1e-5)


def test_lagged_copy_follows_update_rule(tiny_config: ExperimentConfig) -> None:
    g, _ = _models(tiny_config)
    rollout = Rollout(g, RolloutConfig(rollout_update_rate=0.8))
    assert rollout.policy is not g
    before = {k: v.clone() for k, v in rollout.policy.state_dict().items()}
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    rollout.update()
    after = rollout.policy.state_dict()
    theta = g.state_dict()
    for key in before:
        expected = 0.8 * before[key] + 0.2 * theta[key]
        assert torch.allclose(after[key], expected, atol=1e-6), key
    # the sampler really uses the updated policy
    assert not torch.equal(after["head.weight"], before["head.weight"])
    assert not any(p.requires_grad for p in rollout.policy.parameters())


def test_rate_zero_rolls_out_with_g_itself(tiny_config: ExperimentConfig) -> None:
    g, _ = _models(tiny_config)
    rollout = Rollout(g, RolloutConfig(rollout_update_rate=0.0))
    assert rollout.policy is g
    rollout.update()  # no-op
    assert rollout.state_dict() == {}


def test_bf16_rewards_close_to_float32(tiny_config: ExperimentConfig) -> None:
    _, d = _models(tiny_config)
    y = torch.randint(0, 8, (64, 6))
    full = DiscriminatorScorer(d, precision="float32")(y)
    half = DiscriminatorScorer(d, precision="bfloat16")(y)
    assert torch.allclose(full, half, atol=2e-2)


def test_bf16_scorer_follows_every_d_update_of_the_fused_adam(
        tiny_config: ExperimentConfig) -> None:
    """The scorer's bf16 copy of D is refreshed after each optimizer step, although the fused
    Adam kernel bumps no version counter (a stale copy rewarded G with a D long trained past)."""
    from seqgan_music.core.steps import adam

    _, d = _models(tiny_config)
    optimizer = adam(d.parameters(), lr=0.05)
    scorer = DiscriminatorScorer(d, precision="bfloat16")
    y = torch.randint(0, 8, (64, 6))
    before = scorer(y)
    for _ in range(3):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(d(y), torch.zeros(64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = scorer(y)
    assert after.mean() < before.mean() - 0.05  # D learned to reject y, and the scorer saw it
    assert torch.allclose(after, DiscriminatorScorer(d, precision="bfloat16")(y))

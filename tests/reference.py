"""Reference implementations used by tests and benchmarks only (never by the library)."""

from __future__ import annotations

import torch

from seqgan_music.core.generator import Generator
from seqgan_music.core.rollout import Scorer


def straightforward_rewards(
    generator: Generator,
    sequences: torch.Tensor,
    scorer: Scorer,
    num_rollouts: int,
    generator_rng: torch.Generator | None = None,
) -> torch.Tensor:
    """Reference implementation as the official code does it: one model call per rollout and
    prefix (N * (T - 1) sampling calls and as many scorer calls). Used by benchmarks and tests."""
    batch, length = sequences.shape
    q = torch.zeros(batch, length, device=sequences.device)
    with torch.inference_mode():
        for _ in range(num_rollouts):
            for t in range(1, length):
                tail = generator.sample(batch, length - t, prefix=sequences[:, :t],
                                        generator=generator_rng)
                full = torch.cat([sequences[:, :t], tail], dim=1)
                q[:, t - 1] += scorer(full)
        q /= num_rollouts
        q[:, length - 1] = scorer(sequences)
    return q

"""Speed of the SeqGAN core at the official synthetic configuration, on this machine.

V 5000, T 20, B 64, N 16 rollouts, the official discriminator (widths 1..10, 15, 20; 1,720
filters). Prints: seconds per adversarial generator step (sampling + rewards + update), the same
rewards computed the straightforward way (one model call per rollout and prefix, as the official
code does) and the speed-up, seconds per discriminator epoch over 20,000 sequences, and seconds to
score 10,000 samples with the oracle.

Targets on a 2-core CPU: adversarial step < 1.7 s, D epoch < 15 s, scoring < 1.5 s
(the official TensorFlow code: 8.7 s, 155 s and 5.8 s).

    python benchmarks/bench_core.py [--repeats 3] [--device cpu] [--precision auto]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from seqgan_music.config import ExperimentConfig
from seqgan_music.oracle import OracleLSTM
from seqgan_music.rollout import DiscriminatorScorer, use_bfloat16

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/
from seqgan_music.training import (
    Corpus,
    Trainer,
    discriminator_epochs,
    optimise,
    policy_gradient_step,
)
from tests.reference import straightforward_rewards  # noqa: E402


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> list[float]:
    out = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="auto, float32 or bfloat16")
    parser.add_argument("--skip-straightforward", action="store_true")
    args = parser.parse_args()

    config = ExperimentConfig.from_dict({"device": args.device,
                                         "rollout": {"precision": args.precision},
                                         "train": {"discriminator_precision": args.precision}})
    device = torch.device(args.device)
    torch.manual_seed(0)
    oracle = OracleLSTM.random(seed=0).to(device)
    rng = torch.Generator(device=device).manual_seed(0)
    data = oracle.sample(10000, 20, generator=rng)
    corpus = Corpus(train=data.cpu(), valid=data[:0].cpu(), test=data[:0].cpu(), vocab_size=5000)
    trainer = Trainer(config, corpus)
    g, d = trainer.generator, trainer.discriminator
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} logical CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; device {device}")
    print(f"config: V 5000, T 20, B 64, N {config.rollout.num_rollouts}, official D "
          f"({sum(config.discriminator.num_filters)} filters); precision {args.precision}")

    scorer = DiscriminatorScorer(d, config.rollout.precision, config.rollout.chunk_size)
    rollout = trainer.rollout

    def g_step() -> None:
        policy_gradient_step(g, trainer.generator_optimizer, rollout, scorer, 64, 20, 5.0, rng)

    g_step()  # warm-up
    step = timed(g_step, args.repeats, device)
    print(f"adversarial generator step: {statistics.median(step):.3f} s "
          f"(median of {args.repeats}: {', '.join(f'{s:.3f}' for s in step)})")

    samples = g.sample(64, 20, generator=rng)
    fast = timed(lambda: rollout.rewards(samples, scorer, generator=rng), args.repeats, device)
    print(f"  of which rewards (vectorised rollout): {statistics.median(fast):.3f} s")
    if not args.skip_straightforward:
        # The same D arithmetic, converted to bf16 once (not once per call) so that the
        # comparison measures only the call structure.
        bf16 = use_bfloat16(config.rollout.precision, device)
        plain = copy.deepcopy(d).to(torch.bfloat16) if bf16 else d
        slow_scorer = DiscriminatorScorer(plain, "float32", config.rollout.chunk_size)

        def slow_step() -> None:
            """The same step with one model call per rollout and prefix (the official way)."""
            batch = g.sample(64, 20, generator=rng)
            q = straightforward_rewards(rollout.policy, batch, slow_scorer, 16, rng)
            loss = -(g.log_probs(batch) * q).sum()
            optimise(g, trainer.generator_optimizer, loss, 5.0, "adversarial", 0)
            rollout.update()

        slow = timed(slow_step, 1, device)
        print(f"same step the straightforward way (N*(T-1) = 304 sampling and D calls of 64 "
              f"sequences): {slow[0]:.3f} s -> speed-up {slow[0] / statistics.median(step):.1f}x")

    negatives = g.sample(10000, 20, generator=rng)
    positives = data

    def d_epoch() -> None:
        discriminator_epochs(d, trainer.discriminator_optimizer, positives, negatives, 1, 64,
                             trainer.rng, precision=config.train.discriminator_precision)

    epoch = timed(d_epoch, max(1, args.repeats - 1), device)
    print(f"discriminator epoch over 20,000 sequences: {statistics.median(epoch):.3f} s")

    fresh = g.sample(10000, 20, generator=rng)
    oracle.nll(fresh)
    score = timed(lambda: oracle.nll(fresh), args.repeats, device)
    print(f"oracle NLL of 10,000 samples: {statistics.median(score):.3f} s")
    sample = timed(lambda: g.sample(10000, 20, generator=rng), args.repeats, device)
    print(f"generator sampling of 10,000 sequences: {statistics.median(sample):.3f} s")


if __name__ == "__main__":
    main()

"""What whole-tune training costs: the `form` preset (T = 768, V = 109) beside the paper's T = 32.

The form representation trains on whole tunes (one row per tune, up to 768 tokens) where the
paper's music setting trains on windows of 32; roll-outs start only at bar lines
(`rollout.reward_at = "bar"`, ~16 reward points a tune instead of one per token). Measured on
the staged Nottingham corpus, each figure the median of `--repeats` runs after a warm-up:

- MLE epoch over the training tunes (the form preset's batches of 32 tunes of similar length);
- adversarial G step (16 tunes, 4 roll-outs from every bar line, the constrained policy);
- D epoch over 2 x 256 tunes (batches of 32);
- sampling 100 whole tunes under the form constraint (what `compose -n 100` does).

The same four for the `default` (paper) preset at T = 32 come from the same corpus, so the ratio
is the cost of whole tunes.

    python benchmarks/bench_form_cost.py --data ../shared/data/nottingham [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_core import load  # noqa: E402


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def measure(preset: str, data: Path, threads: int, repeats: int) -> dict[str, tuple[float, ...]]:
    from seqgan_music.app.train import build_config
    from seqgan_music.core.rollout import DiscriminatorScorer
    from seqgan_music.core.steps import discriminator_epochs, mle_epoch, policy_gradient_step
    from seqgan_music.tasks import load_task
    from seqgan_music.trainer.loop import Trainer

    task = load_task("nottingham")
    config = build_config(task, preset, overrides=[f"threads={threads}"], seed=1)
    corpus = task.prepare(config, data)
    trainer = Trainer(config, corpus, method="seqgan")
    g, d, rng = trainer.generator, trainer.discriminator, trainer.rng
    length = config.data.seq_len
    train = corpus.train
    scorer = DiscriminatorScorer(d, config.rollout.precision, config.rollout.chunk_size)
    batch = 16 if preset == "form" else config.train.batch_size
    rows = min(len(train), 512)
    negatives = g.sample(rows // 2, length, generator=rng)
    figures = {
        "MLE epoch": timed(lambda: mle_epoch(g, trainer.pretrain_optimizer, train,
                                             config.train.batch_size, config.train.grad_clip,
                                             rng), repeats),
        "adversarial G step": timed(lambda: policy_gradient_step(
            g, trainer.generator_optimizer, trainer.rollout, scorer, batch, length,
            config.train.grad_clip, rng), repeats),
        "D epoch": timed(lambda: discriminator_epochs(
            d, trainer.discriminator_optimizer, train[: rows // 2], negatives, 1,
            config.train.batch_size, rng, config.train.discriminator_precision), repeats),
        "sampling 100 tunes": timed(lambda: g.sample(100, length, generator=rng), repeats),
    }
    print(f"{preset}: T {length}, V {corpus.vocab_size}, {len(train)} training rows, "
          f"batch {config.train.batch_size}, G hidden {config.generator.hidden_dim}, "
          f"{config.rollout.num_rollouts} roll-outs from {config.rollout.reward_at!r}", flush=True)
    for name, (median, low, high) in figures.items():
        print(f"  {name}: {median:.3f} s (range {low:.3f}-{high:.3f})", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the Nottingham folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"error: no folder {args.data}")
    start_load = load()
    results = {preset: measure(preset, args.data, args.threads, args.repeats)
               for preset in ("default", "form")}
    print("\n| measure | paper windows (T 32) | whole tunes (form, T 768) | ratio |")
    print("|---|---|---|---|")
    for name in results["form"]:
        paper, form = results["default"][name][0], results["form"][name][0]
        print(f"| {name} | {paper:.3f} s | {form:.3f} s | {form / paper:.1f}x |")
    print(f"\n{torch.get_num_threads()} thread(s); load {start_load:.2f} -> {load():.2f}")


if __name__ == "__main__":
    main()

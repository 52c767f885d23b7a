"""How the cost of one adversarial step grows with T, V, roll-outs N and batch B.

One SeqGAN adversarial step (Yu et al. 2017, Algorithm 1) = one generator step (B samples,
N roll-outs from every prefix, D scores every completion, REINFORCE) + one D step (fresh
negatives, one epoch over B positives and B negatives). Each setting runs in a fresh process
(one torch thread) so its peak memory is its own. Printed beside the measurements:

- the cost model: roll-outs sample B * N * T(T-1)/2 tokens (each an LSTM cell step, H x 4H, and
  an output layer, H x V, with a draw over V), and D scores B * N * (T-1) completions of T
  tokens: time per step ~ B * N * T^2 / 2 * (a * H^2 + b * H * V) + B * N * T^2 * c * D,
  i.e. T squared, linear in B, N and (for large V) in V. The column `us/token` is the time per
  sampled roll-out token: constant where the model holds;
- memory: the trainer's own estimates before starting (`ExperimentConfig.check_resources`
  refuses a setting that would not fit): the larger of the roll-out (`limits.rollout_bytes`) and
  the (B, T, V) logits of the policy-gradient step with their gradients, beside the measured
  peak growth of the process during the step.

    python benchmarks/bench_cost.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

BASE = {"T": 20, "V": 5000, "N": 16, "B": 64}  # the paper's synthetic-data setting
SWEEP = [("T", [20, 40, 80, 160]), ("V", [100, 5000, 50000]), ("N", [4, 16, 32]),
         ("B", [16, 64, 128])]


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one(setting: dict[str, int]) -> dict[str, float]:
    import torch

    from seqgan_music import limits
    from seqgan_music.config import ExperimentConfig
    from seqgan_music.core.steps import policy_gradient_step
    from seqgan_music.errors import ConfigError
    from seqgan_music.trainer.loop import Corpus, Trainer

    torch.set_num_threads(1)
    t, v, n, b = setting["T"], setting["V"], setting["N"], setting["B"]
    widths = [w for w in (2, 3, 5, 10, 20) if w <= t]
    config = ExperimentConfig.from_dict({
        "data": {"seq_len": t, "vocab_size": v},
        "discriminator": {"filter_widths": widths, "num_filters": [32] * len(widths)},
        "rollout": {"num_rollouts": n},
        "train": {"batch_size": b, "d_steps": 1, "d_epochs": 1, "g_steps": 1},
        "device": "cpu", "threads": 1,
    })
    dis = config.discriminator
    # The trainer checks both before starting (`ExperimentConfig.check_resources`): the
    # roll-out (completions, LSTM states, D activations) and the (B, T, V) logits of the
    # REINFORCE / MLE step with their gradients; the step holds one after the other.
    rollout_mib = limits.rollout_bytes(t, b, n, config.generator.hidden_dim,
                                       dis.embedding_dim + sum(dis.num_filters)) / 2**20
    logits_mib = 4 * b * t * v * 4 / 2**20
    estimate = max(rollout_mib, logits_mib)
    try:
        config.check_resources()
    except ConfigError as error:
        return {"refused": str(error), "estimate_mib": estimate}
    data = torch.randint(0, v, (b, t), generator=torch.Generator().manual_seed(0))
    trainer = Trainer(config, Corpus(data, data[:2], data[:2], v))
    trainer.rollout.sync()
    # warm-up on a tiny batch (kernels, allocator) below the measured step's peak
    policy_gradient_step(trainer.generator, trainer.generator_optimizer, trainer.rollout,
                         trainer._d_scorer, 2, t, 5.0, trainer.sample_rng)
    before = rss_mib()
    start = time.perf_counter()
    policy_gradient_step(trainer.generator, trainer.generator_optimizer, trainer.rollout,
                         trainer._d_scorer, b, t, 5.0, trainer.sample_rng)
    g_seconds = time.perf_counter() - start
    trainer._train_discriminator(1)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "g_seconds": g_seconds, "estimate_mib": estimate,
            "peak_growth_mib": max(peak - before, 0.0), "peak_mib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="T up to 80, V up to 5000")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}; one torch thread; "
          f"base {BASE} (E = H = 32, D filters 2..20 x 32)")
    print(f"{'T':>4} {'V':>6} {'N':>3} {'B':>4} {'step s':>7} {'G s':>7} {'tokens':>10} "
          f"{'us/token':>8} {'T^2 x':>6} {'est MiB':>8} {'peak+MiB':>8}")
    base_tokens = BASE["B"] * BASE["N"] * BASE["T"] * (BASE["T"] - 1) / 2
    seen = set()
    for axis, values in SWEEP:
        for value in values:
            setting = {**BASE, axis: value}
            if args.quick and (setting["T"] > 80 or setting["V"] > 5000):
                continue
            key = tuple(setting.values())
            if key in seen:
                continue
            seen.add(key)
            result = subprocess.run([sys.executable, __file__, "--one", json.dumps(setting)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{setting}: failed: {result.stderr.strip().splitlines()[-1]}")
                continue
            row = json.loads(result.stdout.strip().splitlines()[-1])
            tokens = setting["B"] * setting["N"] * setting["T"] * (setting["T"] - 1) / 2
            head = (f"{setting['T']:>4} {setting['V']:>6} {setting['N']:>3} {setting['B']:>4}")
            if "refused" in row:
                print(f"{head} refused before starting: {row['refused']}")
                continue
            print(f"{head} {row['seconds']:>7.2f} {row['g_seconds']:>7.2f} {tokens:>10.0f} "
                  f"{row['g_seconds'] / tokens * 1e6:>8.2f} {tokens / base_tokens:>6.1f} "
                  f"{row['estimate_mib']:>8.0f} {row['peak_growth_mib']:>8.0f}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

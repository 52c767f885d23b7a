"""Speed of the SeqGAN core at the official synthetic configuration, on this machine.

V 5000, T 20, B 64, N 16 roll-outs, the official discriminator (widths 1..10, 15, 20; 1,720
filters), data sampled from a random oracle. Measures (seconds, median of `--repeats` runs after
one warm-up, with the range min-max):

- adversarial generator step (sampling + roll-out rewards + REINFORCE update), and the same step
  with the rewards computed the straightforward way (one model call per roll-out and prefix, as
  the official code does) for the speed-up of the vectorised roll-out;
- discriminator epoch over 20,000 sequences (10,000 real + 10,000 generated, batches of 64);
- MLE epoch over 10,000 sequences (batches of 64);
- NLL-oracle of 10,000 samples;
- sampling 10,000 sequences.

Beside each figure: the thread count, the 1-minute load average before and after it (which
includes this process once it runs) and the CPUs that other processes kept busy meanwhile (from
/proc/stat less this process's own CPU time). Wall times taken while other processes run are 2-3x
worse on a 2-core machine, so the script warns when the machine was busy (load above 0.5 per CPU
at the start, or other processes using more than 0.2 per CPU during a figure) or when a figure's
range is wide (max > 1.25 x min); figures for the README come only from a run without warnings.

Targets on the 2-core dev CPU (issue 13): adversarial step <= 1.8 s, D epoch <= 7 s, MLE epoch
<= 2.5 s, NLL-oracle <= 0.75 s, sampling about 1 s.

    python benchmarks/bench_core.py [--repeats 5] [--threads N] [--quick] [--only d_epoch,...]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests/
from benchmarks.peers.machine_peak import add_gb_per_s, matmul_gflops  # noqa: E402
from seqgan_music.config import ExperimentConfig  # noqa: E402
from seqgan_music.core.oracle import OracleLSTM  # noqa: E402
from seqgan_music.core.rollout import DiscriminatorScorer, use_bfloat16  # noqa: E402
from seqgan_music.core.steps import (  # noqa: E402
    discriminator_epochs,
    mle_epoch,
    optimise,
    policy_gradient_step,
)
from seqgan_music.runtime.threads import available_cpus  # noqa: E402
from seqgan_music.trainer.loop import Corpus, Trainer  # noqa: E402
from tests.reference import straightforward_rewards  # noqa: E402

MEASURES = ("g_step", "straightforward", "d_epoch", "mle_epoch", "nll_oracle", "sampling")
BUSY_PER_CPU = 0.5  # load average per CPU at the start above which figures are not trusted
OTHERS_PER_CPU = 0.2  # CPUs used by other processes during a figure, per CPU, likewise
WIDE_SPREAD = 1.25  # max / min over the repeats above which a figure is not trusted


def machine_speed() -> str:
    """This hour's speed of the machine, to read absolute figures across days and VM kinds:
    memory bandwidth and 2048^3 matmul peaks (`peers/machine_peak.py`), at torch's current
    thread count, medians of 5. The D epoch and the MLE epoch follow the bandwidth more than
    the matmul peak (docs/measurements.md)."""
    peaks = [statistics.median(matmul_gflops(dtype, 5)) for dtype in (torch.float32,
                                                                       torch.bfloat16)]
    return (f"memory {add_gb_per_s(5):.0f} GB/s (add), matmul {peaks[0]:.0f} GFLOP/s float32, "
            f"{peaks[1]:.0f} bf16")


def load() -> float:
    """The 1-minute load average (it includes this process once it runs)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - no load average on this system
        return float("nan")


def cpu_seconds() -> tuple[float, float]:
    """(busy CPU-seconds of the whole machine from /proc/stat, CPU-seconds of this process);
    machine NaN where /proc/stat is missing."""
    own = time.process_time()
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan"), own
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / ticks, own


class Report:
    """Prints each figure with its range, load and threads, and collects warnings."""

    def __init__(self, cpus: int) -> None:
        self.cpus = cpus
        self.warnings: list[str] = []

    def measure(self, name: str, label: str, fn: Callable[[], object], repeats: int,
                device: torch.device, warm_up: bool = True) -> float:
        if warm_up:
            fn()
        before = load()
        machine0, own0 = cpu_seconds()
        wall0 = time.perf_counter()
        times = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        after = load()
        machine1, own1 = cpu_seconds()
        # CPUs kept busy by every other process, on average over the measure
        others = max(0.0, (machine1 - machine0) - (own1 - own0)) / (time.perf_counter() - wall0)
        median, low, high = statistics.median(times), min(times), max(times)
        spread = f"range {low:.3f}-{high:.3f} over {repeats} runs" if repeats > 1 else "1 run"
        threads = torch.get_num_threads()
        print(f"{label}: {median:.3f} s ({spread}; {threads} thread{'s' * (threads != 1)}; "
              f"load {before:.2f} -> {after:.2f}, other processes {others:.2f} CPUs)", flush=True)
        if others > OTHERS_PER_CPU * self.cpus:
            self.warnings.append(f"{name}: other processes kept {others:.2f} of {self.cpus} "
                                 f"CPUs busy (load {before:.2f} -> {after:.2f})")
        if repeats > 1 and high > WIDE_SPREAD * low:
            self.warnings.append(f"{name}: wide range {low:.3f}-{high:.3f} s")
        return median

    def finish(self) -> None:
        if not self.warnings:
            print("machine quiet and figures steady: these figures may be published")
            return
        print("\nWARNING: the machine was busy or the figures unsteady; do not publish these "
              "figures (re-run on a quiet machine):")
        for line in self.warnings:
            print(f"  - {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measure")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (default: every CPU this process may use)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="auto, float32 or bfloat16")
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, no straightforward step (about a minute)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated subset of {', '.join(MEASURES)}")
    parser.add_argument("--skip-straightforward", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else max(1, args.repeats)
    only = set(args.only.split(",")) - {""} if args.only else set(MEASURES)
    unknown = only - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures {sorted(unknown)}; accepted: {', '.join(MEASURES)}")
    if args.quick or args.skip_straightforward:
        only.discard("straightforward")

    cpus = available_cpus()
    threads = args.threads or cpus
    start_load = load()
    config = ExperimentConfig.from_dict({"device": args.device, "threads": threads,
                                         "rollout": {"precision": args.precision},
                                         "train": {"discriminator_precision": args.precision}})
    device = torch.device(args.device)
    torch.manual_seed(0)
    oracle = OracleLSTM.random(seed=0).to(device)
    rng = torch.Generator(device=device).manual_seed(0)
    data = oracle.sample(10000, 20, generator=rng)
    corpus = Corpus(train=data.cpu(), valid=data[:0].cpu(), test=data[:0].cpu(), vocab_size=5000)
    trainer = Trainer(config, corpus)  # sets torch's thread count
    g, d = trainer.generator, trainer.discriminator
    print(f"machine: {platform.machine()} {platform.processor() or ''} {cpus} CPUs; "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); device {device}; "
          f"load {start_load:.2f} at start")
    print(f"machine speed this hour: {machine_speed()}")
    print(f"config: V 5000, T 20, B 64, N {config.rollout.num_rollouts}, official D "
          f"({sum(config.discriminator.num_filters)} filters); precision {args.precision}; "
          f"{repeats} timed runs per figure after a warm-up")
    if start_load > BUSY_PER_CPU * cpus:
        print(f"WARNING: load {start_load:.2f} on {cpus} CPUs before starting: the machine is "
              "busy, figures will be slow")
    report = Report(cpus)

    scorer = DiscriminatorScorer(d, config.rollout.precision, config.rollout.chunk_size)
    rollout = trainer.rollout

    def g_step() -> None:
        policy_gradient_step(g, trainer.generator_optimizer, rollout, scorer, 64, 20, 5.0, rng)

    step = 0.0
    if "g_step" in only:
        step = report.measure("g_step", "adversarial generator step", g_step, repeats, device)
    if "straightforward" in only:
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

        slow = report.measure("straightforward", "  same step the straightforward way "
                              "(304 sampling and D calls of 64 sequences)", slow_step, 1, device,
                              warm_up=False)
        if step:
            print(f"  -> vectorised roll-out speed-up {slow / step:.1f}x")

    if "d_epoch" in only:
        negatives = g.sample(10000, 20, generator=rng)

        def d_epoch() -> None:
            discriminator_epochs(d, trainer.discriminator_optimizer, data, negatives, 1, 64,
                                 trainer.rng, precision=config.train.discriminator_precision)

        report.measure("d_epoch", "discriminator epoch over 20,000 sequences", d_epoch, repeats,
                       device)
    if "mle_epoch" in only:
        def m_epoch() -> None:
            mle_epoch(g, trainer.pretrain_optimizer, data, 64, 5.0, trainer.rng)

        report.measure("mle_epoch", "MLE epoch over 10,000 sequences", m_epoch, repeats, device)
    if "nll_oracle" in only:
        fresh = g.sample(10000, 20, generator=rng)
        report.measure("nll_oracle", "NLL-oracle of 10,000 samples", lambda: oracle.nll(fresh),
                       repeats, device)
    if "sampling" in only:
        report.measure("sampling", "generator sampling of 10,000 sequences",
                       lambda: g.sample(10000, 20, generator=rng), repeats, device)
    report.finish()


if __name__ == "__main__":
    main()

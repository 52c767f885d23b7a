"""What one discriminator training step is made of, on this machine.

The official discriminator (V 5000, T 20, widths 1..10, 15, 20, 1,720 filters), a batch of 64,
bf16 autocast as `training.discriminator_epochs` runs it on a CPU with bf16. Prints (medians,
milliseconds):

- the step, split into forward + loss, backward, and optimizer;
- the step's GEMMs alone: every mm/addmm of one step recorded and replayed with the same
  operands, shapes and strides (the compute floor of this structure);
- the fused Adam alone, over the 6.5 M parameters (a memory-bandwidth floor);
- the same step with one filter per width, E 2 and a 12-wide highway: the same graph with
  next to no arithmetic, i.e. the cost of Python, dispatch and autograd;
- the machine's bf16 and float32 GEMM peaks (2048 x 2048, for the percentages).

A D epoch of `bench_core.py` is about 313 of these steps. Use it to see where a change to
`conv_pool.py` or `models.Discriminator` moves time; compare versions by running both in one
quiet session (the machine's speed varies by 10% between hours).

    python benchmarks/bench_d_step.py [--threads 2] [--blocks 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_core import load  # noqa: E402
from benchmarks.peers.machine_peak import matmul_gflops  # noqa: E402
from seqgan_music.config import DiscriminatorConfig, ExperimentConfig  # noqa: E402
from seqgan_music.core.discriminator import Discriminator  # noqa: E402
from seqgan_music.core.steps import adam  # noqa: E402
from seqgan_music.runtime.allocator import keep_freed_memory  # noqa: E402

GEMMS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.addmm_.default}


def median_ms(fn: Callable[[], object], blocks: int, per_block: int = 10,
              warmed: Callable[[], None] | None = None) -> float:
    """Median over `blocks` of the mean time of `per_block` calls, after a warm-up block
    (then `warmed` is called)."""
    for _ in range(per_block):
        fn()
    if warmed is not None:
        warmed()
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            fn()
        times.append((time.perf_counter() - start) / per_block * 1e3)
    return statistics.median(times)


class Stepper:
    """One D training step of batch 64, timed in three parts."""

    def __init__(self, config: DiscriminatorConfig, vocab: int = 5000, length: int = 20) -> None:
        torch.manual_seed(0)
        self.d = Discriminator(config, vocab, length)
        self.optimizer = adam(self.d.parameters(), lr=1e-4)
        self.tokens = torch.randint(0, vocab, (64, length))
        self.labels = (torch.arange(64) % 2).float()
        self.reset()

    def reset(self) -> None:
        self.parts = {"forward + loss": 0.0, "backward": 0.0, "optimizer": 0.0}
        self.calls = 0

    def __call__(self) -> None:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = self.d(self.tokens).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, self.labels)
        loss = loss + self.d.l2_penalty()
        forward = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        backward = time.perf_counter()
        self.optimizer.step()
        end = time.perf_counter()
        self.parts["forward + loss"] += forward - start
        self.parts["backward"] += backward - forward
        self.parts["optimizer"] += end - backward
        self.calls += 1


class RecordGemms(TorchDispatchMode):
    """Keeps a copy of the operands of every GEMM dispatched while active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, list[Any], dict[str, Any]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        kwargs = kwargs or {}
        if func in GEMMS:
            self.calls.append((func, [a.clone() if isinstance(a, torch.Tensor) else a
                                      for a in args], kwargs))
        return func(*args, **kwargs)


def peak_gflops(dtype: torch.dtype) -> float:
    return statistics.median(matmul_gflops(dtype, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="default: all CPUs")
    parser.add_argument("--blocks", type=int, default=30, help="timed blocks of 10 steps")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); load {load():.2f} at "
          "start (figures on a busy machine are slow)")

    official = ExperimentConfig.from_dict({}).discriminator
    step = Stepper(official)
    total = median_ms(step, args.blocks, warmed=step.reset)
    print(f"D step of 64 (official D, bf16 autocast): {total:.2f} ms (median; parts are means)")
    for part, seconds in step.parts.items():
        print(f"  {part}: {seconds / step.calls * 1e3:.2f} ms")

    recorder = RecordGemms()
    with recorder:
        step()
    calls = recorder.calls
    flops = sum(2 * a[-2].shape[0] * a[-2].shape[1] * a[-1].shape[1] for _, a, _ in calls)

    def replay() -> None:
        for func, operands, kwargs in calls:
            func(*operands, **kwargs)

    gemm = median_ms(replay, max(5, args.blocks // 3), 3)
    bf16_peak = peak_gflops(torch.bfloat16)
    print(f"  its {len(calls)} GEMMs replayed alone: {gemm:.2f} ms ({flops / 1e9:.2f} GFLOP, "
          f"{flops / gemm / 1e6:.0f} GFLOP/s = {100 * flops / gemm / 1e6 / bf16_peak:.0f}% of the "
          "bf16 peak)")
    adam_ms = median_ms(step.optimizer.step, max(5, args.blocks // 3), 5)
    params = sum(p.numel() for p in step.d.parameters())
    print(f"  fused Adam alone over {params / 1e6:.2f} M parameters: {adam_ms:.2f} ms "
          f"({params * 28 / adam_ms / 1e6:.0f} GB/s of parameters, gradients and moments)")
    skeleton = DiscriminatorConfig(embedding_dim=2, filter_widths=official.filter_widths,
                                   num_filters=[1] * len(official.filter_widths))
    overhead = median_ms(Stepper(skeleton), args.blocks)
    print(f"  the same step with 1 filter per width (Python, dispatch, autograd): "
          f"{overhead:.2f} ms")
    rest = total - gemm - adam_ms - overhead
    print(f"  the rest (casts, pooling, elementwise, memory): {rest:.2f} ms")
    print(f"machine: bf16 GEMM peak {bf16_peak:.0f} GFLOP/s, float32 "
          f"{peak_gflops(torch.float32):.0f} GFLOP/s (2048 x 2048)")


if __name__ == "__main__":
    main()

"""This CPU's speed today, to relate absolute figures across days (run with any torch venv).

    python machine_peak.py [--threads 2]

- matmul peak: 2048 x 2048 x 2048 with torch, float32 and bfloat16, `--threads` threads
  (2 * 2048^3 FLOP per product; best and median of 20 after 3 warm-ups);
- memory bandwidth: z = x + y on 64 MiB float32 operands, `--threads` threads (3 x 64 MiB moved);
- dispatch floor: one tiny torch op (add of 64 floats into an out tensor), 1 thread, microseconds
  per op (Python + dispatcher: the cost of the small ops that sampling and roll-outs are made of).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch


def timed(fn, repeats: int, warm: int = 3) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def matmul_gflops(dtype: torch.dtype, repeats: int, n: int = 2048) -> list[float]:
    """GFLOP/s of each of `repeats` n^3 matmuls in `dtype` (after 3 warm-ups)."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    c = torch.empty(n, n, dtype=dtype)
    return [2 * n**3 / t / 1e9 for t in timed(lambda: torch.mm(a, b, out=c), repeats)]


def add_gb_per_s(repeats: int) -> float:
    """Median memory bandwidth of z = x + y on 64 MiB float32 operands (3 x 64 MiB moved)."""
    x = torch.rand(16 * 1024 * 1024)
    y = torch.rand(16 * 1024 * 1024)
    z = torch.empty_like(x)
    return 3 * x.numel() * 4 / statistics.median(timed(lambda: torch.add(x, y, out=z),
                                                       repeats)) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()[0]
    result: dict[str, object] = {"label": args.label, "threads": args.threads}
    for dtype in (torch.float32, torch.bfloat16):
        rates = matmul_gflops(dtype, 20)
        name = str(dtype).split(".")[1]
        result[f"{name}_gflops_best"] = max(rates)
        result[f"{name}_gflops_median"] = statistics.median(rates)
    result["add_gb_per_s_median"] = add_gb_per_s(20)
    torch.set_num_threads(1)
    s, t, u = torch.rand(64), torch.rand(64), torch.empty(64)

    def tiny() -> None:
        for _ in range(20000):
            torch.add(s, t, out=u)
    times = timed(tiny, 7, warm=1)
    result["tiny_op_us_median"] = statistics.median(times) / 20000 * 1e6
    result["load_before"] = load0
    result["load_after"] = os.getloadavg()[0]
    print(f"machine peak{' ' + args.label if args.label else ''} ({args.threads} threads; load "
          f"{load0:.2f} -> {result['load_after']:.2f}): matmul 2048 float32 "
          f"{result['float32_gflops_best']:.0f} GFLOP/s best "
          f"({result['float32_gflops_median']:.0f} median), bfloat16 "
          f"{result['bfloat16_gflops_best']:.0f} best ({result['bfloat16_gflops_median']:.0f} "
          f"median); add {result['add_gb_per_s_median']:.1f} GB/s; tiny op "
          f"{result['tiny_op_us_median']:.2f} us (1 thread)", flush=True)
    print("PEAK " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

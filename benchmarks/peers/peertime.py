"""Timing shared by the peer harnesses (stdlib only: runs in either peer venv).

measure() mirrors seqgan-music's benchmarks/bench_core.py: one warm-up call, then `repeats`
timed calls; it prints the median, the range, the thread count, the 1-minute load average before
and after, and the CPUs other processes kept busy meanwhile (/proc/stat less this process's own
CPU time), and one JSON line (prefix RESULT) that run_all.sh collects.
"""

from __future__ import annotations

import json
import os
import statistics
import time


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> tuple[float, float]:
    own = time.process_time()
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), own


def measure(impl: str, name: str, fn, repeats: int, threads: int, note: str = "",
            warm_up=None, scale: float = 1.0) -> float:
    """`scale`: each call does 1/scale of the work; the figures are multiplied by it."""
    (warm_up or fn)()  # one untimed call (or a shorter warm-up that primes the same code)
    before = load()
    machine0, own0 = cpu_seconds()
    wall0 = time.perf_counter()
    times, cpu = [], []
    for _ in range(repeats):
        start, cpu0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * scale)
        cpu.append((time.process_time() - cpu0) * scale)
    after = load()
    machine1, own1 = cpu_seconds()
    others = max(0.0, (machine1 - machine0) - (own1 - own0)) / (time.perf_counter() - wall0)
    med = statistics.median(times)
    print(f"{impl} {name}: {med:.3f} s (range {min(times):.3f}-{max(times):.3f} over {repeats} "
          f"runs; {threads} thread(s); load {before:.2f} -> {after:.2f}, other processes "
          f"{others:.2f} CPUs; own CPU time {statistics.median(cpu):.3f} s)"
          f"{' ' + note if note else ''}", flush=True)
    print("RESULT " + json.dumps({"impl": impl, "measure": name, "median": med,
                                  "min": min(times), "max": max(times), "times": times,
                                  "cpu_median": statistics.median(cpu),
                                  "threads": threads, "load_before": before,
                                  "load_after": after, "others_cpus": others, "note": note}),
          flush=True)
    return med

"""What seqgan-music's bench_core.py chooses on this machine: bf16 path, threads, allocator,
ATen's CPU kernels. Run with the project's venv from the project checkout:

    SEQGAN_MUSIC_THREADS=2 python ours_diag.py
"""

from __future__ import annotations

import os

import torch

from seqgan_music.config import ExperimentConfig
from seqgan_music.core.conv_pool import cpu_has_native_bf16
from seqgan_music.core.rollout import use_bfloat16
from seqgan_music.runtime.allocator import keep_freed_memory
from seqgan_music.runtime.threads import available_cpus, describe_threads

cpu = torch.device("cpu")
config = ExperimentConfig.from_dict({"device": "cpu", "threads": available_cpus()})
print("torch", torch.__version__, "| ATen CPU capability:", torch.backends.cpu.get_cpu_capability())
print("oneDNN available:", torch.backends.mkldnn.is_available(),
      "| mkldnn bf16 supported:", torch.ops.mkldnn._is_mkldnn_bf16_supported(),
      "| native bf16 (seqgan-music):", cpu_has_native_bf16())
print("bf16 roll-out scoring (rollout.precision auto):",
      use_bfloat16(config.rollout.precision, cpu))
print("bf16 D training (train.discriminator_precision auto):",
      use_bfloat16(config.train.discriminator_precision, cpu))
print("threads: bench_core passes its --threads, by default every CPU (", available_cpus(),
      "); the CLI alone would choose", describe_threads(0))
print("glibc mallopt (keep freed memory):", keep_freed_memory())
for name in ("OMP_NUM_THREADS", "SEQGAN_MUSIC_THREADS", "MALLOC_ARENA_MAX", "LD_PRELOAD",
             "ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "KMP_AFFINITY",
             "OMP_WAIT_POLICY"):
    print(f"  ${name} = {os.environ.get(name)!r}")
with open("/proc/cpuinfo", encoding="utf-8") as handle:
    lines = handle.read().splitlines()
print(next(line for line in lines if line.startswith("model name")))
print("cpu MHz:", [line.split(":")[1].strip() for line in lines if line.startswith("cpu MHz")])
flags = next(line for line in lines if line.startswith("flags")).split()
print("flags:", [f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma")])
print(torch.__config__.parallel_info().strip())

"""How many CPU threads torch uses (`choose_threads`) and how they treat denormal floats
(`flush_denormals`), both called once by `trainer.loop.Trainer`.

torch's default is one thread per logical CPU of the machine. On a shared machine that
oversubscribes the cores: each thread of a parallel region waits for the slowest, and a thread
descheduled by another process stalls all of them (an adversarial step went from 3 s to
35-228 s). The choice, first match wins:

1. `threads = N` in the config (`--set threads=N`), N >= 1;
2. `$SEQGAN_MUSIC_THREADS`;
3. `$OMP_NUM_THREADS` when the user set it (torch reads it too);
4. the CPUs this process may run on (`os.sched_getaffinity`, which honours `taskset`, cgroup
   cpusets and container limits), minus those kept busy by other processes (the 1-minute load
   average), capped at `MAX_AUTO_THREADS`: the models are small, and beyond a few threads the
   synchronisation costs more than it brings.

Denormal floats (below 1.2e-38 in float32) take a slow path on x86 CPUs. Adam's first moment
of a weight whose gradient stays zero (the embedding rows of tokens absent from a batch) decays
by 0.9 a step and is denormal after ~800 steps: the official discriminator's epoch then slowed
from 7.9 s to 10.4 s over six epochs on the 2-core dev machine, and every figure depended on
how long the process had trained. `flush_denormals` sets flush-to-zero and denormals-are-zero,
as TensorFlow does in its own threads, on the calling thread and on torch's OpenMP threads
(threads created later inherit the setting). Values this small change no weight: a float32
weight of 1e-3 has a rounding step near 1e-10.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import re

from seqgan_music.errors import ConfigError

ENV_VARIABLE = "SEQGAN_MUSIC_THREADS"
MAX_AUTO_THREADS = 8


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(os.cpu_count() or 1, 1)


def busy_cpus() -> float:
    """CPUs kept busy by runnable processes (the 1-minute load average; 0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def _from_environment(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"${name} = {value!r} is invalid; expected an integer >= 1 (or unset "
                          "it to let seqgan-music choose)")
    return number


def choose_threads(configured: int = 0) -> int:
    """The number of torch threads to use; see the module docstring for the order.

    Args:
        configured: the config's `threads` (0: not set).

    Returns:
        A thread count >= 1.

    Raises:
        ConfigError: $SEQGAN_MUSIC_THREADS or $OMP_NUM_THREADS is not an integer >= 1.
    """
    if configured > 0:
        return configured
    for name in (ENV_VARIABLE, "OMP_NUM_THREADS"):
        found = _from_environment(name)
        if found is not None:
            return found
    return _automatic_threads()


def describe_threads(configured: int = 0) -> str:
    """`choose_threads`'s answer and where it comes from, e.g. "1 thread (2 CPUs, 1.4 busy)"."""
    count = choose_threads(configured)
    noun = "thread" if count == 1 else "threads"
    if configured > 0:
        return f"{count} {noun} (threads = {configured} in the config)"
    for name in (ENV_VARIABLE, "OMP_NUM_THREADS"):
        if os.environ.get(name, "").strip():
            return f"{count} {noun} (${name})"
    return (f"{count} {noun} ({available_cpus()} CPUs, {busy_cpus():.1f} busy; "
            f"--set threads=N or ${ENV_VARIABLE} to choose)")


@functools.lru_cache(maxsize=1)
def _automatic_threads() -> int:
    """Chosen once per process: later trainers (the oracle benchmark runs several) would
    otherwise count this process's own training in the load average."""
    cpus = available_cpus()
    # Another process that keeps a CPU busy for a minute counts as one; a fraction rounds down
    # (short spikes, and our own start-up, do not take a core away).
    free = cpus - math.floor(busy_cpus())
    return max(1, min(free, cpus, MAX_AUTO_THREADS))


def flush_denormals() -> bool:
    """Flush denormal floats to zero on this thread and on torch's OpenMP threads; False where
    the CPU cannot (then nothing changes)."""
    import torch

    if not torch.set_flush_denormal(True):
        return False
    library = _openmp_library()
    if library is not None:  # run the same call once on every thread of the OpenMP team
        body = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: torch.set_flush_denormal(True))
        try:
            library.GOMP_parallel.argtypes = [type(body), ctypes.c_void_p, ctypes.c_uint,
                                              ctypes.c_uint]
            library.GOMP_parallel(body, None, torch.get_num_threads(), 0)
        except AttributeError:  # pragma: no cover - another OpenMP runtime
            pass
    return True


@functools.cache
def _openmp_library() -> ctypes.CDLL | None:
    """The GNU OpenMP runtime torch loaded (its own copy on Linux wheels), if any."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as handle:
            for line in handle:
                found = re.search(r"(/\S*libgomp[^/\s]*\.so[^/\s]*)$", line.strip())
                if found:
                    return ctypes.CDLL(found.group(1))
    except OSError:  # not Linux
        return None
    return None

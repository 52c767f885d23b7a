"""Keep freed heap memory in the process: `keep_freed_memory`, called once by the `Trainer`.

glibc's malloc serves blocks above its mmap threshold (128 KiB, raised dynamically up to the
largest freed block) with fresh mmap'd pages and trims the top of the heap back to the system
whenever more than twice that is free. A training step allocates and frees the same tens of MB
every time (the discriminator's highway weights cast to bf16 and their gradients, 6-12 MB each),
so each step page-faults them in again: about 5,000-7,000 faults and a quarter of a
discriminator step's time. With a fixed 32 MiB mmap threshold and a 1 GiB trim threshold the
freed blocks are reused instead. Only the allocator's thresholds change, never a result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where not glibc/Linux."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # pragma: no cover - musl and other C libraries
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))

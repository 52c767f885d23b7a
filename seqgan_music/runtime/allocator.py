"""Keep freed heap memory in the process: `keep_freed_memory`, called once by the `Trainer`.

glibc's malloc serves blocks above its mmap threshold (128 KiB, raised dynamically up to the
largest freed block) with fresh mmap'd pages and trims the top of the heap back to the system
whenever more than twice that is free. A training step allocates and frees the same tens of MB
every time (the discriminator's highway weights cast to bf16 and their gradients, 6-12 MB each),
so each step page-faults them in again: about 5,000-7,000 faults and a quarter of a
discriminator step's time. With a fixed 32 MiB mmap threshold and a 1 GiB trim threshold the
freed blocks are reused instead. Only the allocator's thresholds change, never a result.

`restart_with_huge_pages`, called by the command line before a training command: glibc (2.35 and
later) backs its heap with transparent huge pages when the environment says
`GLIBC_TUNABLES=glibc.malloc.hugetlb=1` at process start, which cuts the TLB misses of a D step's
streaming over its 7 M parameters, moments and temporaries (a D epoch 5-8% faster on the
2-core dev VM); the process re-executes itself once with it. `SEQGAN_MUSIC_HUGE_PAGES=0` turns
this off. Again only where memory comes from changes, never a result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest accepted value on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1"
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


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


def huge_pages_environment(environ: Mapping[str, str], libc_version: str | None = None,
                           thp_setting: str | None = None) -> dict[str, str] | None:
    """`environ` with glibc's huge-page malloc tunable added, or None where it would do nothing:
    not Linux with glibc >= 2.35, transparent huge pages off ("[never]"), the tunable already
    set (by the user or by the restart), or `SEQGAN_MUSIC_HUGE_PAGES=0`. `libc_version`
    ("glibc 2.36") and `thp_setting` (the kernel's "always [madvise] never") default to this
    machine's."""
    if environ.get("SEQGAN_MUSIC_HUGE_PAGES", "1").strip() in ("0", "false", "no", "off"):
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb" in tunables:
        return None
    if libc_version is None:
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc_version = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):  # pragma: no cover - a libc without the name
            return None
    name, _, number = libc_version.partition(" ")
    try:
        version = tuple(int(part) for part in number.split(".")[:2])
    except ValueError:
        return None
    if name != "glibc" or version < (2, 35):
        return None
    if thp_setting is None:
        try:
            thp_setting = THP_SETTING.read_text(encoding="ascii")
        except OSError:
            return None
    if "[always]" not in thp_setting and "[madvise]" not in thp_setting:
        return None
    updated = dict(environ)
    updated["GLIBC_TUNABLES"] = f"{tunables}:{HUGE_PAGES_TUNABLE}" if tunables else \
        HUGE_PAGES_TUNABLE
    return updated


def restart_with_huge_pages() -> None:
    """Re-execute this process (same interpreter, same command line, same process id) with
    glibc's huge-page malloc, where `huge_pages_environment` says it helps; otherwise return.
    Call it first thing, before any output or threads."""
    environ = huge_pages_environment(os.environ)
    argv = getattr(sys, "orig_argv", None)
    if environ is None or not argv or not sys.executable:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, environ)
    except OSError:  # pragma: no cover - the interpreter cannot be re-executed: carry on
        return

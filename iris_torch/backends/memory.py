"""Keeping freed memory in the process, for training loops on large data.

glibc's malloc hands every freed block over 32 MB straight back to the operating system, so a
training step that allocates a fresh (m, k) buffer for a large m gets brand-new pages each time
and pays a page fault for every 4 KB of them. On a 1,000,000 x 10 float32 step that fault cost
is larger than the arithmetic (python -m iris_torch.bench shows both). Telling malloc to keep
freed blocks lets each step reuse the pages the last one used: the same effect PyTorch's CPU
tuning guides get from jemalloc or tcmalloc.

This changes the whole process, so the library never does it on import: the command line and
the benchmark call keep_freed_memory() for their own process. In your own script, call it
yourself, or start Python with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647.
"""

import ctypes
import ctypes.util
import sys

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULTS = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_MAX: 65536}
KEEP = {M_TRIM_THRESHOLD: 2**31 - 1, M_MMAP_MAX: 0}


def _libc():
    """glibc, or None where there is none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt, libc.malloc_trim  # noqa: B018  (both must exist)
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Let malloc keep freed blocks of any size for reuse. True if it took effect."""
    libc = _libc()
    return libc is not None and all(libc.mallopt(p, v) == 1 for p, v in KEEP.items())


def release_freed_memory() -> bool:
    """Back to glibc's defaults, and hand what malloc kept back to the operating system."""
    libc = _libc()
    if libc is None:
        return False
    restored = all(libc.mallopt(p, v) == 1 for p, v in DEFAULTS.items())
    libc.malloc_trim(0)
    return restored

"""memory.keep_freed_memory really keeps freed memory in the process, and release gives it back."""

import sys
from pathlib import Path

import pytest
import torch

from iris_torch.backends import memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def rss_after_freeing_200_mb() -> float:
    """Resident memory after allocating, touching and freeing 200 MB, relative to before."""
    before = resident_mb()
    block = torch.ones(50 * 2**20)  # 200 MB of float32, every page touched
    del block
    return resident_mb() - before


def test_kept_memory_stays_and_released_memory_goes():
    try:
        assert memory.keep_freed_memory()
        assert rss_after_freeing_200_mb() > 150  # kept for the next step to reuse
    finally:
        assert memory.release_freed_memory()
    assert rss_after_freeing_200_mb() < 50  # glibc's default: large blocks go straight back

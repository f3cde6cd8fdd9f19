"""release_free_heap: glibc's malloc_trim where there is one, a no-op elsewhere."""

from __future__ import annotations

import platform
import sys

from forestgaps_engine.inference import heap


def test_release_free_heap_finds_glibc_and_runs_anywhere():
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert heap._malloc_trim() is not None
    heap.release_free_heap()
    heap.release_free_heap()

"""What this machine has free right now: memory available to new allocations."""

from __future__ import annotations

import psutil


def available_memory_bytes() -> int:
    """RAM available to new allocations without swapping, in bytes.

    ``psutil.virtual_memory().available`` reads ``MemAvailable`` on Linux, the available
    physical memory on Windows and free + inactive pages on macOS, so one call serves QGIS
    on every platform it runs on.
    """
    return int(psutil.virtual_memory().available)

"""What this machine is and has free right now: its CPU name, memory available to new allocations."""

from __future__ import annotations

import psutil


def available_memory_bytes() -> int:
    """RAM available to new allocations without swapping, in bytes.

    ``psutil.virtual_memory().available`` reads ``MemAvailable`` on Linux, the available
    physical memory on Windows and free + inactive pages on macOS, so one call serves QGIS
    on every platform it runs on.
    """
    return int(psutil.virtual_memory().available)


def cpu_name() -> str:
    """The CPU's model name, the one reader every cache key and report uses.

    psutil does not give it; Linux names it in ``/proc/cpuinfo``, elsewhere ``platform``
    says what the OS reports ("unknown" when nothing does).
    """
    import platform
    from pathlib import Path

    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"

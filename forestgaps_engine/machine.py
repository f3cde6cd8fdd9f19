"""What this machine has free right now: memory available to new allocations."""

from __future__ import annotations

import os


def available_memory_bytes() -> int:
    """RAM available to new allocations (``MemAvailable``; free pages where unknown; 0 if
    neither can be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 0

"""What this machine is and has free right now: its CPU name, memory available to new allocations."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import psutil

# The instruction sets that decide which kernels PyTorch and OpenVINO can use.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


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
    return _cpuinfo_field("model name") or platform.processor() or platform.machine() or "unknown"


def cpu_description() -> dict[str, Any]:
    """The CPU of a benchmark report: ``{"cpu": name, "cpu_count": logical cores, "flags": [...]}``.

    ``flags`` lists the ``VECTOR_FLAGS`` the CPU has (empty where ``/proc/cpuinfo`` is absent).
    """
    listed = set(_cpuinfo_field("flags").split())
    return {
        "cpu": cpu_name(),
        "cpu_count": psutil.cpu_count(),
        "flags": [flag for flag in VECTOR_FLAGS if flag in listed],
    }


def _cpuinfo_field(name: str) -> str:
    """The first ``name : value`` of ``/proc/cpuinfo`` (Linux), "" where there is none."""
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""

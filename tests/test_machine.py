"""forestgaps_engine.machine: available memory from psutil, the CPU read in one place."""

from __future__ import annotations

import re
from collections import namedtuple
from pathlib import Path

import psutil
import pytest

from forestgaps_engine import machine


def test_available_memory_is_what_psutil_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    memory = namedtuple("svmem", "total available")(total=8 * 2**30, available=3 * 2**30)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory)
    assert machine.available_memory_bytes() == 3 * 2**30


def test_available_memory_is_positive_and_below_total_here() -> None:
    available_bytes = machine.available_memory_bytes()
    assert 0 < available_bytes <= psutil.virtual_memory().total


def test_cpu_description_names_the_cpu_cores_and_vector_flags() -> None:
    description = machine.cpu_description()
    assert description["cpu"] == machine.cpu_name() != ""
    assert description["cpu_count"] == psutil.cpu_count()
    assert set(description["flags"]) <= set(machine.VECTOR_FLAGS)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags_line = next(
            (line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), ""
        )
        listed = set(flags_line.partition(":")[2].split())
        assert description["flags"] == [f for f in machine.VECTOR_FLAGS if f in listed]


def test_the_cpu_is_read_in_one_place() -> None:
    """Reports and cache keys name the CPU through machine.py alone, so they agree."""
    root = Path(__file__).resolve().parents[1]
    readers = sorted(
        str(path.relative_to(root))
        for folder in ("forestgaps_engine", "plugin", "benchmarks", "scripts")
        for path in (root / folder).rglob("*.py")
        if re.search(r"/proc/cpuinfo|platform\.processor\(", path.read_text(encoding="utf-8"))
    )
    assert readers == ["forestgaps_engine/machine.py"]

"""forestgaps_engine.machine: available memory comes from psutil on every platform."""

from __future__ import annotations

from collections import namedtuple

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

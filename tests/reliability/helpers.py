"""Helpers: real subprocesses of the ``forestgaps`` CLI, leftover and integrity checks."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

FORESTGAPS = Path(sys.executable).with_name("forestgaps")


def run_cli(*args: str | Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    """Run ``forestgaps ARGS`` to the end; stdout and stderr as text."""
    return subprocess.run(
        [str(FORESTGAPS), *map(str, args)], capture_output=True, text=True, timeout=timeout_s
    )


def start_cli(*args: str | Path) -> subprocess.Popen:
    """Start ``forestgaps ARGS`` without waiting."""
    return subprocess.Popen(
        [str(FORESTGAPS), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_partial(folder: Path, process: subprocess.Popen, timeout_s: float = 60.0) -> Path:
    """Poll until a ``.partial`` file or folder appears in ``folder``; return it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = leftovers(folder) if folder.exists() else []
        if found:
            return found[0]
        if process.poll() is not None:
            pytest.fail(f"the run ended (rc {process.returncode}) before writing anything")
        time.sleep(0.005)
    process.kill()
    pytest.fail(f"no partial file appeared in {folder} within {timeout_s} s")


def stop(process: subprocess.Popen, signal_number: int = signal.SIGTERM) -> tuple[int, str]:
    """Send ``signal_number`` and wait; returns (exit code, stderr)."""
    process.send_signal(signal_number)
    _stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def leftovers(folder: Path) -> list[Path]:
    """Every temporary file or folder under ``folder``."""
    return sorted(p for p in folder.rglob("*") if ".partial" in p.name or ".forestgaps-" in p.name)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_reads_whole(path: Path) -> None:
    """Every block of the raster decodes (a checksum reads them all)."""
    with rasterio.open(path) as dataset:
        dataset.checksum(1)


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_chm(path: Path, size_px: int, seed: int = 0) -> Path:
    """A float32 CHM (metres, EPSG:2154) with gaps, compressed like real inputs."""
    from tests.data.rasters import write_raster

    rng = np.random.default_rng(seed)
    heights = rng.uniform(8.0, 30.0, (size_px, size_px)).astype(np.float32)
    rows, cols = rng.integers(0, size_px - 8, (2, max(1, size_px * size_px // 400)))
    for row, col in zip(rows, cols, strict=True):
        heights[row : row + 6, col : col + 6] = 1.0
    return write_raster(path, heights)


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill ``folder``'s file system until about ``leave_bytes`` remain free."""
    free_bytes = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    (folder / "filler.bin").write_bytes(b"\0" * max(0, free_bytes - leave_bytes))

"""A region run killed with SIGKILL resumes: only missing blocks are redone, same outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]


def _command(tiles: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "forestgaps_engine.cli.main", "region", str(tiles),
        "--chm", "--threshold", "5", "--out", str(out), "--workers", "1",
        "--block-size", "64",
    ]  # fmt: skip


def test_killed_run_resumes_to_the_same_outputs(tmp_path, region_chm_tiles):
    folder, _whole = region_chm_tiles
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    reference = tmp_path / "reference"
    subprocess.run(_command(folder, reference), check=True, env=environment, cwd=ROOT,
                   capture_output=True, timeout=300)  # fmt: skip
    out = tmp_path / "killed"
    process = subprocess.Popen(_command(folder, out), env=environment, cwd=ROOT,
                               start_new_session=True, stderr=subprocess.PIPE)  # fmt: skip
    records = out / "region_work" / "records"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(records.glob("*.npz"))) < 3:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    n_recorded = len(list(records.glob("*.npz")))
    assert 3 <= n_recorded < 16, "the kill must land mid-run"
    rerun = subprocess.run(_command(folder, out), env=environment, cwd=ROOT,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"resuming: {n_recorded} of 16 blocks already done" in rerun.stderr
    for name in ("gaps_t5.tif", "gap_mask_t5.tif"):
        with rasterio.open(out / name) as mine, rasterio.open(reference / name) as theirs:
            assert np.array_equal(mine.read(1), theirs.read(1))
    assert not (out / "region_work").exists()

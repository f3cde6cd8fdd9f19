"""forestgaps region on the command line: dry run, user errors in one line with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]


def _region(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "region", *arguments],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip


def test_dry_run_plans_times_one_block_and_the_run_reuses_it(tmp_path, region_chm_tiles):
    folder, _whole = region_chm_tiles
    out = tmp_path / "out"
    common = (str(folder), "--chm", "--threshold", "5", "--out", str(out), "--workers", "1",
              "--block-size", "64")  # fmt: skip
    planned = _region(*common, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-2000:]
    plan = json.loads(planned.stdout)
    assert plan["n_blocks"] == 16 and plan["n_tiles"] == 16 and plan["mosaic_px"] == [256, 256]
    assert plan["calibration_block_s"] > 0 and plan["estimated_blocks_s"] >= 0
    assert not (out / "summary.json").exists()
    run = _region(*common)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "resuming: 1 of 16 blocks already done" in run.stderr
    assert json.loads((out / "summary.json").read_text())["resumed_blocks"] == 1


def test_user_errors_are_one_line_and_exit_2(tmp_path, region_chm_tiles):
    folder, _whole = region_chm_tiles
    missing = _region(str(tmp_path / "nowhere"), "--chm", "--threshold", "5", "--out",
                      str(tmp_path / "a"))  # fmt: skip
    assert missing.returncode == 2
    assert "nowhere: no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    out = tmp_path / "b"
    first = _region(str(folder), "--chm", "--threshold", "5", "--out", str(out), "--dry-run",
                    "--block-size", "64")  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    other = _region(str(folder), "--chm", "--threshold", "7", "--out", str(out), "--dry-run",
                    "--block-size", "64")  # fmt: skip
    assert other.returncode == 2
    assert "holds the blocks of a region run with other tiles or settings" in other.stderr
    assert "delete" in other.stderr and "Traceback" not in other.stderr

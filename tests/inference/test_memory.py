"""Peak memory of predict stays far below a whole-raster float pipeline.

Measured (2 thresholds, 256 px tiles, CPU): about 25 MB over the pre-predict baseline at
512^2 and 110 MB at 2048^2, most of it the whole-raster mask and ids of post-processing
(inference itself holds one strip); a pipeline keeping the DSM, 2 probability maps and
their blending sums in memory would need > 100 MB more at 2048^2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _peak(size_px: int, out: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.inference.memory_run", str(size_px), str(out)],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_rss_of_a_2048_raster_is_bounded(tmp_path):
    small = _peak(512, tmp_path / "small")
    large = _peak(2048, tmp_path / "large")
    growth_mb = large["peak_rss_mb"] - large["rss_before_predict_mb"]
    # 2048^2 float32 is 16 MB per full raster; 16x the cells must not cost 16x the memory.
    assert growth_mb < 400, large
    assert large["peak_rss_mb"] < 4 * small["peak_rss_mb"], (small, large)

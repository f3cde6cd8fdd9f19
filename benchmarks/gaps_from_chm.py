"""Time the classic detector (label + per-gap stats + both size laws) and print JSON.

Inputs: the two real ForestGapR CHMs (when ../shared/data is present) and a seeded
4096 x 4096 synthetic CHM (smoothed noise, so gaps are patches rather than speckle).
ForestGapR itself cannot run here (no R), so there is no side-by-side timing.

Usage: .venv/bin/python benchmarks/gaps_from_chm.py [--repeats 5] [--size 4096]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
from scipy import ndimage
from shared_data import SHARED_DATA

from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017
from forestgaps_engine.gaps.stats import gap_stats


def synthetic_chm(size_px: int, seed: int = 0) -> np.ndarray:
    """(size, size) float32 canopy heights around 25 m with smooth random dips."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((size_px, size_px), np.float32), 3.0)
    return (25.0 + 8.0 * noise / noise.std()).astype(np.float32)


def time_run(height_m: np.ndarray, threshold_m: float, repeats: int) -> dict:
    durations_s = {"label": [], "stats": [], "size_law": [], "total": []}
    n_gaps = 0
    for _ in range(repeats):
        start = time.perf_counter()
        labels = label_gaps(height_m, threshold_m, 1.0, 1.0, 10000.0)
        labelled = time.perf_counter()
        stats = gap_stats(labels, height_m, 1.0)
        measured = time.perf_counter()
        lambda_hanel_2017(stats.gap_area)
        lambda_asner_2013(stats.gap_area)
        done = time.perf_counter()
        n_gaps = len(stats)
        for key, value in (("label", labelled - start), ("stats", measured - labelled),
                           ("size_law", done - measured), ("total", done - start)):  # fmt: skip
            durations_s[key].append(value)
    median_ms = {k: 1000 * statistics.median(v) for k, v in durations_s.items()}
    mpix = height_m.size / 1e6
    return {
        "shape": list(height_m.shape),
        "threshold_m": threshold_m,
        "n_gaps": n_gaps,
        "repeats": repeats,
        "median_ms": {k: round(v, 2) for k, v in median_ms.items()},
        "mpix_per_s": round(mpix / (median_ms["total"] / 1000), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=4096, help="synthetic CHM side, px")
    args = parser.parse_args()
    import rasterio

    runs = {}
    for name in ("ALS_CHM_DUC", "ALS_CHM_CAU_2012"):
        path = SHARED_DATA / f"{name}.tif"
        if not path.exists():
            continue
        with rasterio.open(path) as dataset:
            height_m = dataset.read(1)
        for threshold_m in (5.0, 10.0):
            runs[f"{name}_t{threshold_m:g}"] = time_run(height_m, threshold_m, args.repeats)
    synthetic = synthetic_chm(args.size)
    runs[f"synthetic_{args.size}_t10"] = time_run(synthetic, 10.0, max(1, args.repeats // 2))
    print(
        json.dumps(
            {
                "benchmark": "gaps_from_chm (label + stats + size laws, no file I/O)",
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "forestgapr_comparison": "not possible here: R/ForestGapR cannot be installed",
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

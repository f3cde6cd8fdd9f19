"""Why the relief model loses to the DSM-only baseline where the baseline is near exact.

Scores, on the real sites written by ``forestgaps evaluate-real`` (``<dir>/inputs/<site>/
{dsm,chm}.tif``), the baseline's rule ``dsm - ground <= threshold`` with the ground of
``evaluation/baselines.estimate_ground_m`` (40 m window, 4 m Gaussian) against the same
rule with the ground the relief model computes in its graph (a 41-cell window and a 9-cell
box on the DSM's own grid, whatever its cell size), with the model's margin scale (its
learned metres per normalised unit over the normaliser's range), with the 41-cell window
held at 40 m, and with 81 cells on every grid. The model's learned
correction is left out: this isolates what the margin alone costs. Prints JSON.

    python benchmarks/relief_margin.py out/real_sites/evaluation [--unit-ratio 0.84]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import rasterio
from scipy import ndimage

from forestgaps_engine.evaluation.baselines import estimate_ground_m
from forestgaps_engine.gaps.detector import label_gaps

THRESHOLDS_M = (2.0, 5.0, 10.0, 15.0)


def _read(path: Path) -> tuple[np.ndarray, float]:
    with rasterio.open(path) as source:
        values = source.read(1, masked=True).astype(np.float64).filled(np.nan)
        return values, float(source.res[0])


def model_ground_m(dsm_m: np.ndarray, valid: np.ndarray, window_px: int, box_px: int) -> np.ndarray:
    """The relief model's opening (square window in cells, box smoothing), nodata filled."""
    _, nearest = ndimage.distance_transform_edt(~valid, return_indices=True)
    filled = dsm_m[tuple(nearest)]
    opened = ndimage.grey_opening(filled, size=(window_px, window_px), mode="nearest")
    if box_px > 1:
        opened = ndimage.uniform_filter(opened, size=box_px, mode="nearest")
    return np.minimum(opened, filled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluation_dir", type=Path)
    parser.add_argument("--unit-ratio", type=float, default=1.0, help="margin metres per metre")
    args = parser.parse_args(argv)
    variants = (
        "baseline_40m",
        "model_window_41px",
        "model_window_41px_scaled",
        "window_40m_box",
        "window_81px",
    )
    counts = {v: {t: [0, 0] for t in THRESHOLDS_M} for v in variants}
    sites = {}
    for folder in sorted((args.evaluation_dir / "inputs").iterdir()):
        dsm_m, cell_m = _read(folder / "dsm.tif")
        chm_m, _ = _read(folder / "chm.tif")
        valid = np.isfinite(dsm_m) & np.isfinite(chm_m)
        cell_area_m2 = cell_m**2
        reliefs = {
            "baseline_40m": dsm_m - estimate_ground_m(dsm_m, valid, cell_m),
            "model_window_41px": dsm_m - model_ground_m(dsm_m, valid, 41, 9),
            "window_40m_box": dsm_m
            - model_ground_m(
                dsm_m, valid, 2 * int(round(20 / cell_m)) + 1, 2 * int(round(4 / cell_m)) + 1
            ),
        }
        reliefs["window_81px"] = dsm_m - model_ground_m(dsm_m, valid, 81, 17)
        reliefs["model_window_41px_scaled"] = reliefs["model_window_41px"] * args.unit_ratio
        row = {"cell_m": cell_m}
        for threshold_m in THRESHOLDS_M:
            truth = (
                label_gaps(np.where(valid, chm_m, np.nan), threshold_m, cell_area_m2, 1, 1e4) > 0
            )
            for variant, relief in reliefs.items():
                pred = (
                    label_gaps(np.where(valid, relief, np.nan), threshold_m, cell_area_m2, 1, 1e4)
                    > 0
                )
                inter = int((pred & truth & valid).sum())
                union = int(((pred | truth) & valid).sum())
                counts[variant][threshold_m][0] += inter
                counts[variant][threshold_m][1] += union
                row[f"{variant}@{threshold_m:g}"] = round(inter / union, 3) if union else 1.0
        sites[folder.name] = row
    pooled = {
        v: {f"{t:g}": round(i / u, 3) if u else 1.0 for t, (i, u) in per.items()}
        for v, per in counts.items()
    }
    json.dump({"pooled": pooled, "sites": sites}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

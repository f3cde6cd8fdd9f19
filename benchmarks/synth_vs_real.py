"""Synthetic forests against the real sites: slope, canopy height and gap sizes.

    .venv/bin/python benchmarks/synth_vs_real.py [--config configs/real_sites.yaml]
        [--seeds 9000 9001 9002 9003] [--size 512] [--work out/synth_vs_real]

Prints JSON: for every real site of the config (built by ``data/real_sites/``) and every
synthetic forest (``synth.forest.generate_forest``, the pretrained config's 25 % open
stands, 1 m cells), the terrain slope (degrees, from the DTM = DSM - CHM; none over flat
ground), canopy height percentiles of the valid cells, and the gaps at 5 m (ForestGapR's
rule without the upper bound): share of the area, patches per hectare, median and 90th
percentile area, and the share of gap area in patches over 1 ha. Then the same pooled
per group (real lidar with terrain, real canopies over flat ground, synthetic).
Needs ../shared/data (the real corpus, not shipped).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config import load_config
from forestgaps_engine.data.real_sites.builder import build_real_site
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.progress import Reporter
from forestgaps_engine.synth.forest import generate_forest

GAP_THRESHOLD_M = 5.0
LARGE_GAP_M2 = 10_000.0


def _slope_deg(dtm_m: np.ndarray, resolution_m: float) -> np.ndarray:
    d_row, d_col = np.gradient(dtm_m.astype(np.float64), resolution_m)
    return np.degrees(np.arctan(np.hypot(d_row, d_col)))


def describe(
    chm_m: np.ndarray, valid: np.ndarray, resolution_m: float, dtm_m: np.ndarray | None
) -> dict[str, Any]:
    """Slope, canopy height and gap-size figures of one site (``dtm_m`` None: flat)."""
    heights = chm_m[valid]
    figures: dict[str, Any] = {
        "cell_m": resolution_m,
        "area_ha": round(float(valid.sum()) * resolution_m**2 / 1e4, 2),
        "canopy_height_m": {
            f"p{q}": round(float(np.percentile(heights, q)), 2) for q in (10, 50, 90, 99)
        },
        "share_above_5m": round(float((heights > 5.0).mean()), 3),
        "slope_deg": None,
    }
    if dtm_m is not None:
        slope = _slope_deg(dtm_m, resolution_m)[valid]
        slope = slope[np.isfinite(slope)]
        figures["slope_deg"] = {f"p{q}": round(float(np.percentile(slope, q)), 1) for q in (50, 90)}
    ids = label_gaps(np.where(valid, chm_m, np.nan), GAP_THRESHOLD_M, resolution_m**2, 1.0, 1e12)
    areas_m2 = np.bincount(ids.ravel())[1:] * resolution_m**2
    areas_m2 = areas_m2[areas_m2 > 0]
    total_m2 = float(areas_m2.sum())
    figures["gaps_5m"] = {
        "area_share": round(total_m2 / (float(valid.sum()) * resolution_m**2), 3),
        "per_ha": round(len(areas_m2) / max(figures["area_ha"], 1e-9), 1),
        "median_m2": round(float(np.median(areas_m2)), 1) if len(areas_m2) else None,
        "p90_m2": round(float(np.percentile(areas_m2, 90)), 1) if len(areas_m2) else None,
        "share_in_over_1ha": round(float(areas_m2[areas_m2 > LARGE_GAP_M2].sum()) / total_m2, 3)
        if total_m2
        else None,
    }
    return figures


def _group_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def median(path: tuple[str, ...]) -> float | None:
        values = []
        for row in rows:
            value: Any = row
            for key in path:
                value = None if value is None else value.get(key)
            if value is not None:
                values.append(float(value))
        return round(float(np.median(values)), 3) if values else None

    return {
        "n_sites": len(rows),
        "median_slope_p50_deg": median(("slope_deg", "p50")),
        "median_slope_p90_deg": median(("slope_deg", "p90")),
        "median_canopy_p50_m": median(("canopy_height_m", "p50")),
        "median_canopy_p90_m": median(("canopy_height_m", "p90")),
        "median_share_above_5m": median(("share_above_5m",)),
        "median_gap_area_share_5m": median(("gaps_5m", "area_share")),
        "median_gaps_per_ha_5m": median(("gaps_5m", "per_ha")),
        "median_gap_median_m2_5m": median(("gaps_5m", "median_m2")),
        "median_gap_p90_m2_5m": median(("gaps_5m", "p90_m2")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/real_sites.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[9000, 9001, 9002, 9003])
    parser.add_argument("--size", type=int, default=512, help="synthetic side, pixels at 1 m")
    parser.add_argument("--work", type=Path, default=Path("out/synth_vs_real"))
    args = parser.parse_args(argv)
    config = load_config(args.config, [])
    groups: dict[str, list[dict[str, Any]]] = {"real_terrain": [], "real_flat": [], "synthetic": []}
    sites: dict[str, Any] = {}
    for site in config.data.sites:
        rasters = build_real_site(site, None, args.work / "sites", Reporter(None, None))
        valid = rasters.dsm.valid & rasters.chm.valid
        is_flat = rasters.dsm is rasters.chm or rasters.record.get("chm", "").startswith("flat")
        dtm = None if is_flat else np.where(valid, rasters.dsm.values - rasters.chm.values, np.nan)
        row = describe(rasters.chm.values, valid, rasters.grid.resolution_m[0], dtm)
        sites[site.name] = row
        groups["real_flat" if is_flat else "real_terrain"].append(row)
    for seed in args.seeds:
        forest = generate_forest(args.size, 1.0, seed=seed, open_stand_share=0.25)
        row = describe(forest.chm_m, forest.valid & np.isfinite(forest.chm_m), 1.0, forest.dtm_m)
        sites[f"synthetic_{seed}"] = row
        groups["synthetic"].append(row)
    report = {
        "groups": {name: _group_summary(rows) for name, rows in groups.items()},
        "sites": sites,
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

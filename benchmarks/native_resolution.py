"""Predict on a DSM's own cells, or warp it to the model's: IoU of both, per cell size; JSON.

The evidence behind a model card's ``native_resolutions_m`` (the cell sizes a model is
run on without resampling). For each cell size, held-out synthetic sites (seeds apart
from training's) and, when the shared data folder is there, ``Topography.laz``
rasterized at that size are scored twice by ``evaluate``: the model on the DSM's own
grid (``native``) and warped to its training resolution and back (``resampled``), next to
the DSM-only baseline and, where the warped cells are coarser, to the ceiling of any map
made on them (ForestGapR on the true CHM averaged to them, ``perfect_map_warped``).
Patches kept at 1-10000 m².

Usage::

    .venv/bin/python benchmarks/native_resolution.py [--model default]
        [--cells 0.5,0.75,1.5,2] [--seeds 9000,9001] [--extent 512]
        [--data ../shared/data] [--out out/native_resolution]

Prints the JSON and writes it to ``OUT/native_resolution.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from shared_data import SHARED_DATA

from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.experiments.heldout import HeldOutSite, heldout_sites, score_on_sites
from forestgaps_engine.files import write_json_atomic
from forestgaps_engine.models.card import load_model

DEFAULT_DATA = SHARED_DATA
THRESHOLDS_M = [2.0, 5.0, 10.0, 15.0]


def _topography(data: Path, cell_m: float, out: Path) -> list[HeldOutSite]:
    cloud = data / "Topography.laz"
    if not cloud.is_file():
        return []
    from forestgaps_engine.geo.lidar import rasterize_point_cloud

    rasters = rasterize_point_cloud(cloud, cell_m, out / f"topography_{cell_m:g}m")
    return [HeldOutSite(f"topography_{cell_m:g}m", -1, rasters["dsm"], rasters["chm"])]


def _ceiling(
    site: HeldOutSite, resolution_m: float, gaps: GapsConfig, out: Path
) -> dict[str, float | None] | None:
    """IoU of a perfect map on a coarser warped grid: ForestGapR on the true CHM averaged
    to the model's cell size, scored on the site's own cells (None for finer grids)."""
    import numpy as np

    from forestgaps_engine.evaluation.api import evaluate
    from forestgaps_engine.gaps.detector import label_gaps
    from forestgaps_engine.geo.raster_io import MASK_PROFILE, read_band, write_array
    from forestgaps_engine.geo.resample import working_grid
    from forestgaps_engine.geo.warp import warp_to_grid

    chm = read_band(site.chm)
    warped = working_grid(chm.grid, resolution_m, site.name)
    if warped.resolution_m[0] <= chm.grid.resolution_m[0]:
        return None  # a finer warped grid holds everything the DSM's own grid does
    coarse = warp_to_grid(chm, warped, "average")
    masks = {}
    for threshold_m in THRESHOLDS_M:
        ids = label_gaps(
            coarse.values, threshold_m, warped.cell_area_m2, gaps.min_area_m2, gaps.max_area_m2
        )
        mask = np.where(coarse.valid, (ids > 0).astype(np.uint8), MASK_PROFILE.nodata)
        target = out / f"gap_mask_t{threshold_m:g}.tif"
        masks[threshold_m] = write_array(target, mask.astype(np.uint8), warped, MASK_PROFILE)
    result = evaluate(
        {"dsm": site.dsm, "chm": site.chm},
        masks,
        THRESHOLDS_M,
        out / "scores",
        gaps,
        method_name="ceiling",
    )
    return {f"{s.threshold_m:g}": s.pixel.iou for s in result.scores if s.method == "ceiling"}


def _iou(scores: dict, method: str) -> dict[str, float | None]:
    return {t: values["iou"] for t, values in scores[method].items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model folder or 'default'")
    parser.add_argument("--cells", default="0.5,0.75,1.5,2", help="cell sizes, metres")
    parser.add_argument("--seeds", default="9000,9001", help="held-out synthetic seeds")
    parser.add_argument("--extent", type=float, default=512.0, help="site side, metres")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=Path("out/native_resolution"))
    args = parser.parse_args()
    started_s = time.perf_counter()
    model = load_model(args.model)
    # The same weights with no declared range: every other cell size is warped.
    resampling = dataclasses.replace(
        model, card=model.card.model_copy(update={"native_resolutions_m": None})
    )
    native = dataclasses.replace(
        model, card=model.card.model_copy(update={"native_resolutions_m": (0.01, 100.0)})
    )
    gaps = GapsConfig(min_area_m2=1.0, max_area_m2=10000.0)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = []
    for cell_m in (float(value) for value in args.cells.split(",")):
        size_px = int(round(args.extent / cell_m))
        synthetic = heldout_sites(args.out / "sites", seeds, size_px, cell_m)
        for site in synthetic + _topography(args.data, cell_m, args.out / "real"):
            scored = {}
            for mode, variant in (("native", native), ("resampled", resampling)):
                scored[mode] = score_on_sites(
                    [site], variant, THRESHOLDS_M, args.out / mode / site.name, gaps
                )
            rows.append(
                {
                    "site": site.name,
                    "cell_m": cell_m,
                    "native": _iou(scored["native"], "model"),
                    "resampled": _iou(scored["resampled"], "model"),
                    "dsm_only": _iou(scored["native"], "dsm_only"),
                    "perfect_map_warped": _ceiling(
                        site, model.card.resolution_m, gaps, args.out / "ceiling" / site.name
                    ),
                }
            )
    wins = [
        row["native"][t] > row["resampled"][t]
        for row in rows
        for t in row["native"]
        if row["native"][t] is not None and row["resampled"][t] is not None
    ]
    report = {
        "model_id": model.card.model_id,
        "declared_native_resolutions_m": model.card.native_resolutions_m,
        "thresholds_m": THRESHOLDS_M,
        "rows": rows,
        "native_better": f"{sum(wins)} of {len(wins)}",
        "duration_s": round(time.perf_counter() - started_s, 1),
    }
    write_json_atomic(args.out / "native_resolution.json", report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

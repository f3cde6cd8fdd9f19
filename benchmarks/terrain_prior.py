"""What a coarse terrain prior buys on steep ground: two tiny models, with and without it.

Usage::

    nice -n 10 .venv/bin/python benchmarks/terrain_prior.py [--out out/terrain_prior]
        [--config configs/terrain_prior_quick.yaml] [--train-sites 8] [--heldout-sites 3]
        [--size 384] [--epochs N]

Steep synthetic sites: a generated forest (``synth/forest.py``) on ground made steeper by a
regional slope of 20-50 % and hills 25-50 m high a few hundred metres across (slopes up to
about 40 degrees), added to the DSM and the DTM alike, so the CHM and its gaps stay as
generated. The same prepared tiles (``data.terrain_prior`` on) train both models; the run
without the prior ignores the prior band. Held-out sites (other seeds) are predicted with
``predict``, the prior given as a 20 m DEM in another CRS (EPSG:32631: block mean of the
true DTM, a 2 m offset and per-cell noise of 0.5 m), and scored by pixel IoU of
``gap_mask_t*.tif`` against ForestGapR labels of the true CHM. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject

from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.config.loader import load_config
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.inference.api import predict
from forestgaps_engine.metrics.pixel import ConfusionCounts, confusion_counts
from forestgaps_engine.synth.forest import generate_forest
from forestgaps_engine.training.api import train

SCORED_M = (5.0, 10.0)
DEM_CELL_M = 20.0
DEM_CRS = "EPSG:32631"
HELDOUT_SEED_BASE = 5000


def steep_ground_m(shape: tuple[int, int], resolution_m: float, seed: int) -> np.ndarray:
    """(H, W) extra relief: a regional slope and hills, metres (0 at the top-left cell)."""
    rng = np.random.default_rng([seed, 77])
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]] * resolution_m
    slope = rng.uniform(0.2, 0.5)
    azimuth = rng.uniform(0.0, 2.0 * np.pi)
    amplitude_m = rng.uniform(25.0, 50.0)
    wavelength_m = rng.uniform(250.0, 500.0), rng.uniform(250.0, 500.0)
    phase = rng.uniform(0.0, 2.0 * np.pi, 2)
    regional = slope * (np.cos(azimuth) * cols + np.sin(azimuth) * rows)
    hills = amplitude_m * np.sin(2 * np.pi * cols / wavelength_m[0] + phase[0]) * np.cos(
        2 * np.pi * rows / wavelength_m[1] + phase[1]
    )
    return (regional + hills).astype(np.float32)


def _write(path: Path, values: np.ndarray, crs: str, transform: Affine) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=-9999.0,
    ) as dataset:  # fmt: skip
        dataset.write(np.where(np.isfinite(values), values, -9999.0).astype(np.float32), 1)
    return path


def write_site(folder: Path, size_px: int, seed: int) -> dict[str, Path]:
    """A steep site's DSM, CHM and true DTM as GeoTIFFs (EPSG:2154, 1 m)."""
    forest = generate_forest(size_px, 1.0, "EPSG:2154", seed=seed)
    extra_m = steep_ground_m(forest.dsm_m.shape, 1.0, seed)
    folder.mkdir(parents=True, exist_ok=True)
    transform = forest.grid.transform
    return {
        "dsm": _write(folder / "dsm.tif", forest.dsm_m + extra_m, forest.grid.crs, transform),
        "chm": _write(folder / "chm.tif", forest.chm_m, forest.grid.crs, transform),
        "dtm": _write(folder / "dtm.tif", forest.dtm_m + extra_m, forest.grid.crs, transform),
    }


def write_coarse_dem(dtm_path: Path, target: Path, seed: int) -> Path:
    """A 20 m DEM in EPSG:32631 from the true DTM: block mean, offset and noise."""
    rng = np.random.default_rng([seed, 99])
    with rasterio.open(dtm_path) as dtm:
        factor = int(DEM_CELL_M / dtm.res[0])
        height, width = dtm.height // factor, dtm.width // factor
        coarse = dtm.read(
            1, out_shape=(height, width), resampling=Resampling.average, masked=True
        ).filled(np.nan)
        coarse = coarse + rng.normal(0.0, 2.0) + rng.normal(0.0, 0.5, coarse.shape)
        coarse_transform = dtm.transform * Affine.scale(factor)
        bounds = rasterio.transform.array_bounds(height, width, coarse_transform)
        transform, out_w, out_h = calculate_default_transform(
            dtm.crs, DEM_CRS, width, height, *bounds, resolution=DEM_CELL_M
        )
        out = np.full((out_h, out_w), np.nan, np.float32)
        reproject(
            coarse.astype(np.float32), out, src_transform=coarse_transform, src_crs=dtm.crs,
            dst_transform=transform, dst_crs=DEM_CRS, resampling=Resampling.bilinear,
            src_nodata=np.nan, dst_nodata=np.nan,
        )  # fmt: skip
    return _write(target, out, DEM_CRS, transform)


def truth_masks(chm_path: Path, config: object) -> dict[float, np.ndarray]:
    """ForestGapR gap masks of the true CHM at every scored threshold."""
    with rasterio.open(chm_path) as chm:
        heights = chm.read(1, masked=True).filled(np.nan)
        cell_area_m2 = abs(chm.res[0] * chm.res[1])
    # The area bounds predict applies to its own masks, so both sides drop the same specks.
    min_area_m2 = config.inference.min_gap_area_m2  # type: ignore[attr-defined]
    max_area_m2 = config.gaps.max_area_m2  # type: ignore[attr-defined]
    return {t: label_gaps(heights, t, cell_area_m2, min_area_m2, max_area_m2) > 0 for t in SCORED_M}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/terrain_prior")
    parser.add_argument("--config", default="configs/terrain_prior_quick.yaml")
    parser.add_argument("--train-sites", type=int, default=8)
    parser.add_argument("--heldout-sites", type=int, default=3)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    sites = [
        SiteConfig(name=f"steep{seed}", dsm=str(paths["dsm"]), chm=str(paths["chm"]))
        for seed in range(args.train_sites)
        for paths in [write_site(out / "sites" / f"steep{seed}", args.size, seed)]
    ]
    overrides = [f"data.output_dir={out / 'prepared'}"]
    if args.epochs is not None:
        overrides.append(f"training.epochs={args.epochs}")
    base = load_config(args.config, overrides)
    config = base.model_copy(update={"data": base.data.model_copy(update={"sites": sites})})
    prepare(config)
    figures: dict[str, object] = {"prepare_s": round(time.perf_counter() - started, 1)}
    models = {}
    for uses_prior in (True, False):
        name = "with_prior" if uses_prior else "without_prior"
        params = {**config.model.params, "terrain_prior": uses_prior}
        run_config = config.model_copy(
            update={
                "model": config.model.model_copy(update={"params": params}),
                "training": config.training.model_copy(
                    update={"output_dir": str(out / "training" / name)}
                ),
            }
        )
        started = time.perf_counter()
        result = train(run_config)
        figures[f"train_s_{name}"] = round(time.perf_counter() - started, 1)
        models[name] = result.model_dir
    counts = {name: {t: ConfusionCounts() for t in SCORED_M} for name in models}
    for index in range(args.heldout_sites):
        seed = HELDOUT_SEED_BASE + index
        paths = write_site(out / "heldout" / f"steep{seed}", args.size, seed)
        dem = write_coarse_dem(paths["dtm"], out / "heldout" / f"steep{seed}" / "dem.tif", seed)
        truth = truth_masks(paths["chm"], config)
        for name, model_dir in models.items():
            result = predict(
                paths["dsm"],
                list(SCORED_M),
                model_dir,
                out / "predict" / name / f"steep{seed}",
                config.inference,
                terrain_prior=dem if name == "with_prior" else None,
            )
            for item in result.thresholds:
                with rasterio.open(item.mask_path) as mask:
                    values = mask.read(1)
                valid = values != 255
                counts[name][item.threshold_m] = counts[name][item.threshold_m] + (
                    confusion_counts(values == 1, truth[item.threshold_m], valid)
                )
    figures["pixel_iou"] = {
        name: {f"{t:g}": round(per[t].iou, 4) for t in SCORED_M} for name, per in counts.items()
    }
    figures["heldout_sites"] = args.heldout_sites
    figures["train_sites"] = args.train_sites
    figures["size_px"] = args.size
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

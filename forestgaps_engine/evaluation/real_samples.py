"""Evaluation pairs (DSM, reference CHM) built from the real lidar samples of a data folder.

The project's real data (``../shared/data``, GPL-3, never shipped) holds one raw point
cloud with ground points, one height-normalised cloud and two CHM rasters. Only the raw
cloud gives a real DSM with real terrain; the others give a real canopy but no terrain.
Each of those is scored twice, so the DSM-only claim is tested on real canopies too:

- ``flat``: the CHM itself as the DSM (ground at 0 m everywhere). Finding the ground is
  trivial there, so the DSM-only baseline is at its best.
- ``terrain``: the CHM on a synthetic landscape from ``synth.terrain`` (seeded, the same
  generator as the training sites'), so the ground must be estimated from the DSM as on a
  real survey. The labels still come from the real CHM.

Every sample is scored by ``evaluate`` against ForestGapR's rule on its CHM, exactly as
``forestgaps evaluate --dsm --chm`` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forestgaps_engine.errors import DataError
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.geo.lidar import rasterize_point_cloud
from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, read_band, write_array
from forestgaps_engine.synth.terrain import generate_terrain

logger = logging.getLogger(__name__)

RAW_CLOUDS = ("Topography.laz",)
NORMALIZED_CLOUDS = ("MixedConifer.laz",)
# CHM rasters; ForestGapR's expected outputs (expected/) sit beside them and are not CHMs.
CHM_PATTERN = "ALS_CHM_*.tif"
TERRAIN_KINDS = ("flat", "terrain")


@dataclass(frozen=True)
class RealSample:
    """One evaluation pair.

    Attributes:
        name: ``<source stem>[_<cell>m]`` for a real DSM, with ``_<terrain>`` otherwise.
        source: the file in the data folder it was built from.
        terrain: ``lidar`` (the cloud's own ground), ``flat`` or ``terrain`` (synthetic).
        dsm: DSM GeoTIFF the model and the DSM-only baseline read.
        chm: reference CHM GeoTIFF (labels: ForestGapR on it).
    """

    name: str
    source: str
    terrain: str
    dsm: Path
    chm: Path


def build_real_samples(
    data_dir: str | Path,
    work_dir: str | Path,
    resolutions_m: tuple[float, ...] = (1.0,),
    terrain_seed: int = 9300,
) -> list[RealSample]:
    """Rasterize the clouds and make the DSMs of every real sample found in ``data_dir``.

    Args:
        data_dir: folder of ``*.laz`` clouds and ``ALS_CHM_*.tif`` CHMs; absent files are
            skipped.
        work_dir: where the rasters are written, one folder per source and cell size.
        resolutions_m: cell sizes the clouds are rasterized at (one sample each, the
            first named after the cloud alone, the others ``<stem>_<cell>m``); the CHM
            rasters keep theirs.
        terrain_seed: seed of the first synthetic landscape (one per canopy-only source,
            in order: the normalised clouds, then the CHM rasters).

    Returns:
        The samples, in a fixed order (raw clouds, normalised clouds, CHMs).

    Raises:
        DataError: ``data_dir`` holds none of the expected samples.
    """
    data = Path(data_dir)
    work = ensure_writable_dir(work_dir)
    samples: list[RealSample] = []
    for name in RAW_CLOUDS:
        for stem, resolution_m in _cells(data / name, resolutions_m):
            rasters = rasterize_point_cloud(data / name, resolution_m, work / stem)
            samples.append(RealSample(stem, name, "lidar", rasters["dsm"], rasters["chm"]))
    canopy_only: list[tuple[str, str, Path]] = []
    for name in NORMALIZED_CLOUDS:
        for stem, resolution_m in _cells(data / name, resolutions_m):
            rasters = rasterize_point_cloud(
                data / name, resolution_m, work / stem, normalized="chm"
            )
            canopy_only.append((name, stem, rasters["chm"]))
    canopy_only += [(path.name, path.stem, path) for path in sorted(data.glob(CHM_PATTERN))]
    if not samples and not canopy_only:
        raise DataError(
            f"{data}: no real sample found (expected {', '.join(RAW_CLOUDS + NORMALIZED_CLOUDS)}"
            f" or {CHM_PATTERN})",
            hint="Point --data at the project's shared data folder (../shared/data).",
        )
    # One landscape per source, whatever the cell sizes it is rasterized at.
    sources = list(dict.fromkeys(name for name, _, _ in canopy_only))
    for name, stem, chm in canopy_only:
        seed = terrain_seed + sources.index(name)
        for kind in TERRAIN_KINDS:
            dsm = _dsm_over_ground(chm, work / stem / f"dsm_{kind}.tif", kind, seed)
            samples.append(RealSample(f"{stem}_{kind}", name, kind, dsm, chm))
    return samples


def _cells(cloud: Path, resolutions_m: tuple[float, ...]) -> list[tuple[str, float]]:
    """Return (sample stem, cell size) per resolution of a cloud that exists.

    The first stem is the cloud's stem alone, the others ``<stem>_<cell>m``.
    """
    if not cloud.is_file():
        return []
    return [
        (cloud.stem if index == 0 else f"{cloud.stem}_{resolution_m:g}m", resolution_m)
        for index, resolution_m in enumerate(resolutions_m)
    ]


def _dsm_over_ground(chm_path: Path, target: Path, kind: str, seed: int) -> Path:
    """Write ``chm + ground``: ground 0 m (``flat``) or a seeded synthetic landscape."""
    chm = read_band(chm_path)
    if kind == "flat":
        ground_m = np.zeros(chm.values.shape, dtype=np.float32)
    else:
        ground_m = generate_terrain(
            chm.values.shape, chm.grid.resolution_m[0], np.random.default_rng(seed)
        )
    dsm_m = np.where(chm.valid, chm.values + ground_m, np.nan).astype(np.float32)
    logger.info("%s: DSM over %s ground from %s", target, kind, chm_path.name)
    return write_array(target, dsm_m, chm.grid, HEIGHT_PROFILE)


def margins_over_baseline(
    scores: dict[str, dict[str, dict[str, float | None]]], metric: str = "iou"
) -> dict[str, float | None]:
    """Model minus DSM-only baseline per threshold label (None where either is undefined)."""
    model, baseline = scores.get("model", {}), scores.get("dsm_only", {})
    margins: dict[str, float | None] = {}
    for label, values in model.items():
        ours, theirs = values.get(metric), baseline.get(label, {}).get(metric)
        margins[label] = None if ours is None or theirs is None else ours - theirs
    return margins

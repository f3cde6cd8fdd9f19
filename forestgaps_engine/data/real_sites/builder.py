"""Real sites of the corpus (``configs/real_sites.yaml``) onto one metric grid each.

A site declared with ``lidar`` options, ``flat_ground`` or a ``source_dir`` is built here;
the others stay with ``data.sites.load_raster_site``. Three kinds:

- a raw cloud: metres (feet converted), ground from its class 2 or CSF, buildings left
  out (their cells nodata), then DSM / DTM / CHM by ``geo.lidar.rasterize_point_cloud``;
- a height-normalised cloud, or a CHM raster with ``flat_ground``: a canopy without
  terrain, so the DSM is the CHM itself (ground at 0 m everywhere);
- DSM + CHM / DTM rasters, read as ``load_raster_site`` does.

Each carries its provenance (the folder's ``SOURCE.txt``) in its record, which ``prepare``
copies into ``tiles.jsonl`` and the manifest.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.data import LidarSiteConfig, SiteConfig
from forestgaps_engine.data.real_sites.cloud import prepare_cloud
from forestgaps_engine.data.real_sites.provenance import SOURCE_FILE, read_source_file
from forestgaps_engine.data.shards import safe_key
from forestgaps_engine.data.sites import SiteRasters, grid_record, load_raster_site
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import Band, read_band
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)

FLAT_GROUND = "flat ground: the CHM is the DSM (ground at 0 m)"


def is_real_site(site: SiteConfig) -> bool:
    """Whether ``build_real_site`` builds this site (lidar options, flat ground or a source)."""
    return site.lidar is not None or site.flat_ground or site.source_dir is not None


def site_provenance(site: SiteConfig) -> dict[str, Any] | None:
    """The site's origin: its ``SOURCE.txt`` fields, its ``source_note``; None if neither."""
    if site.source_dir is None and site.source_note is None:
        return None
    record: dict[str, Any] = {}
    has_source_file = (
        site.source_dir is not None and (Path(site.source_dir) / SOURCE_FILE).is_file()
    )
    # A note stands in for a missing SOURCE.txt; without one the file is required.
    if site.source_dir is not None and (has_source_file or site.source_note is None):
        record = read_source_file(site.source_dir)
    if site.source_note is not None:
        record.setdefault("folder", Path(site.source_dir or ".").name)
        record["source_note"] = site.source_note
    return record


def build_real_site(
    site: SiteConfig, resolution_m: float | None, sites_dir: Path, reporter: Reporter
) -> SiteRasters:
    """Build one real site onto its metric grid.

    Args:
        site: the site's config entry.
        resolution_m: target cell size (``data.resolution_m``); None keeps the site's own
            (``lidar.resolution_m`` for clouds, the raster's for CHMs).
        sites_dir: where clouds are rasterized (``<sites_dir>/<safe name>/``).
        reporter: progress and cancel.

    Returns:
        DSM and CHM on one grid, with a record of every step and the provenance.

    Raises:
        DataError, InvalidDataFormatError, CRSMismatchError: a bad input, naming the file.
        ConfigError: CSF needed but not installed.
        CancelledError: cancelled.
    """
    provenance = site_provenance(site)
    if site.point_cloud is not None:
        rasters = _cloud_site(site, site.lidar or LidarSiteConfig(), sites_dir, reporter)
    elif site.flat_ground:
        rasters = _flat_chm_site(site)
    else:
        rasters = load_raster_site(site, resolution_m, sites_dir, reporter)
        return replace(rasters, record={**rasters.record, "provenance": provenance})
    if resolution_m is not None and not all(
        abs(r - resolution_m) <= 1e-9 for r in rasters.grid.resolution_m
    ):
        rasters = _resampled(rasters, resolution_m)
    return replace(rasters, record={**rasters.record, "provenance": provenance})


def _resampled(rasters: SiteRasters, resolution_m: float) -> SiteRasters:
    from forestgaps_engine.geo.warp import metric_grid_for, warp_to_grid

    target = metric_grid_for(rasters.grid, resolution_m)
    record = {
        **rasters.record,
        "resampled": {
            "resolution_from_m": list(rasters.grid.resolution_m),
            "resolution_to_m": [resolution_m, resolution_m],
            "resampling": "bilinear",
        },
        "grid": grid_record(target),
    }
    return SiteRasters(
        rasters.name,
        warp_to_grid(rasters.dsm, target),
        warp_to_grid(rasters.chm, target),
        record,
    )


def _masked_cells(grid: Grid, xy_m: np.ndarray) -> np.ndarray:
    """(H, W) bool: cells holding at least one of the points."""
    mask = np.zeros(grid.shape, dtype=bool)
    if not len(xy_m):
        return mask
    cols, rows = (~grid.transform) * (xy_m[:, 0], xy_m[:, 1])
    rows = np.clip(np.floor(rows).astype(np.int64), 0, grid.height_px - 1)
    cols = np.clip(np.floor(cols).astype(np.int64), 0, grid.width_px - 1)
    mask[rows, cols] = True
    return mask


def _without(band: Band, mask: np.ndarray) -> Band:
    valid = band.valid & ~mask
    return Band(
        np.where(valid, band.values, np.nan).astype(np.float32), valid, band.grid, band.path
    )


def _cloud_site(
    site: SiteConfig, options: LidarSiteConfig, sites_dir: Path, reporter: Reporter
) -> SiteRasters:
    from forestgaps_engine.geo.lidar import rasterize_point_cloud

    folder = ensure_writable_dir(sites_dir / safe_key(site.name))
    reporter.report(0.0, f"site {site.name}: reading {Path(site.point_cloud).name}")
    # The metric cloud is an intermediate: it lives only while the rasterizer reads it.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".cloud-") as work:
        cloud = prepare_cloud(site.point_cloud, site.crs, options, Path(work) / "cloud_m.las")
        reporter.report(0.4, f"site {site.name}: rasterizing at {options.resolution_m:g} m")
        outputs = rasterize_point_cloud(
            cloud.path,
            options.resolution_m,
            folder,
            crs=cloud.crs,
            progress=reporter.sub(0.4, 0.6).report,
            normalized="chm" if options.height_normalised else "raw",
        )
    chm = read_band(outputs["chm"])
    dsm = chm if options.height_normalised else read_band(outputs["dsm"])
    buildings = _masked_cells(chm.grid, cloud.excluded_xy_m)
    chm, dsm = _without(chm, buildings), _without(dsm, buildings)
    record: dict[str, Any] = {
        "site": site.name,
        "kind": "point_cloud",
        "point_cloud": str(site.point_cloud),
        "cloud": cloud.record,
        "excluded_cells": int(buildings.sum()),
        "rasterized": {
            "resolution_m": options.resolution_m,
            # Relative to the prepared folder: sites_dir sits in a staging folder until the end.
            "outputs": {k: v.relative_to(sites_dir.parent).as_posix() for k, v in outputs.items()},
        },
        "chm": FLAT_GROUND if options.height_normalised else "dsm - dtm, negatives clipped to 0",
        "grid": grid_record(chm.grid),
    }
    return SiteRasters(site.name, dsm, chm, record)


def _flat_chm_site(site: SiteConfig) -> SiteRasters:
    from forestgaps_engine.geo.warp import harmonize

    overrides = {"chm": site.crs} if site.crs else None
    chm = harmonize({"chm": site.chm}, crs_overrides=overrides)["chm"]
    values = np.where(chm.valid, np.maximum(chm.values, 0.0), np.nan).astype(np.float32)
    chm = Band(values, chm.valid, chm.grid, chm.path)
    record = {
        "site": site.name,
        "kind": "chm_flat_ground",
        "inputs": {"chm": {"path": str(site.chm), "crs": chm.grid.crs}},
        "chm": FLAT_GROUND,
        "grid": grid_record(chm.grid),
    }
    return SiteRasters(site.name, chm, chm, record)

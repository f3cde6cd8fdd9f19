"""Sites onto one metric grid each: DSM + CHM, DSM + DTM (→ CHM), point cloud, or synthetic.

Every site comes back as a DSM and a CHM on the same grid, with a record of what was done
to the inputs (reprojection, resampling, CHM derivation) for the per-tile provenance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.config.synth import SynthConfig
from forestgaps_engine.data.shards import safe_key
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import Band
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)

# Cell size for rasterizing point clouds when data.resolution_m is not set.
DEFAULT_LIDAR_RESOLUTION_M = 1.0


@dataclass(frozen=True)
class SiteRasters:
    """One site on its harmonized grid.

    Attributes:
        name: site name from the config.
        dsm: (H, W) surface heights, metres (NaN at nodata).
        chm: (H, W) canopy heights above ground, metres, on the same grid.
        record: JSON-friendly description of the sources and transformations applied.
    """

    name: str
    dsm: Band
    chm: Band
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def grid(self) -> Grid:
        """The site's grid."""
        return self.dsm.grid


def _file_grid(path: str | Path, crs: str | None) -> Grid:
    from forestgaps_engine.geo.raster_io import grid_of, open_single_band

    with open_single_band(path) as dataset:
        return grid_of(dataset, crs)


def _input_record(path: str | Path, source: Grid, target: Grid, resampling: str) -> dict[str, Any]:
    changed = not source.same_cells(target)
    return {
        "path": str(path),
        "crs_from": source.crs,
        "crs_to": target.crs,
        "reprojected": source.crs != target.crs,
        "resolution_from_m": list(source.resolution_m),
        "resolution_to_m": list(target.resolution_m),
        "resolution_changed": source.resolution_m != target.resolution_m,
        "resampling": resampling if changed else None,
    }


def load_raster_site(
    site: SiteConfig, resolution_m: float | None, sites_dir: Path, reporter: Reporter
) -> SiteRasters:
    """Read (or rasterize) one configured site and put its DSM and CHM on one metric grid.

    The grid is the DSM's own (moved to UTM if it is in degrees), or re-gridded at
    ``resolution_m`` over the DSM's extent; the CHM or DTM is warped onto it.

    Args:
        site: the site's config entry.
        resolution_m: target cell size, None to keep the DSM's.
        sites_dir: where point clouds are rasterized (``<sites_dir>/<safe name>/``).
        reporter: progress and cancel.

    Raises:
        InvalidDataFormatError, CRSMismatchError, EmptyRasterError, DataError: from the
            readers, naming the offending file.
    """
    from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize, metric_grid_for

    record: dict[str, Any] = {"site": site.name, "kind": "rasters"}
    if site.point_cloud is not None:
        from forestgaps_engine.geo.lidar import rasterize_point_cloud

        lidar_resolution_m = resolution_m or DEFAULT_LIDAR_RESOLUTION_M
        outputs = rasterize_point_cloud(
            site.point_cloud,
            lidar_resolution_m,
            sites_dir / safe_key(site.name),
            crs=site.crs,
            # reporter.report also raises CancelledError when the user cancels.
            progress=reporter.report,
        )
        record.update(
            kind="point_cloud",
            point_cloud=str(site.point_cloud),
            # Relative to the prepared folder: sites_dir sits in a staging folder until the end.
            rasterized={
                "resolution_m": lidar_resolution_m,
                "outputs": {
                    k: v.relative_to(sites_dir.parent).as_posix() for k, v in outputs.items()
                },
            },
        )
        inputs = {"dsm": outputs["dsm"], "chm": outputs["chm"]}
    else:
        second = "chm" if site.chm is not None else "dtm"
        inputs = {"dsm": site.dsm, second: getattr(site, second)}
    reporter.check()
    overrides = {key: site.crs for key in inputs} if site.crs and site.point_cloud is None else None
    source_grids = {
        key: _file_grid(path, site.crs if overrides else None) for key, path in inputs.items()
    }
    target = metric_grid_for(source_grids["dsm"], resolution_m)
    bands = harmonize(inputs, target=target, crs_overrides=overrides)
    shown = record.get("rasterized", {}).get("outputs", {})
    record["inputs"] = {
        key: _input_record(shown.get(key, inputs[key]), source_grids[key], target, "bilinear")
        for key in inputs
    }
    if "dtm" in bands:
        chm = chm_from_dsm_dtm(bands["dsm"], bands["dtm"])
        record["chm"] = "dsm - dtm, negatives clipped to 0"
    else:
        chm = bands["chm"]
        record["chm"] = (
            "point cloud: dsm - dtm, negatives clipped to 0" if site.point_cloud else "given"
        )
    record["grid"] = grid_record(target)
    return SiteRasters(site.name, bands["dsm"], chm, record)


def synthetic_site(index: int, synth: SynthConfig, resolution_m: float | None) -> SiteRasters:
    """Generate synthetic site number ``index`` (seed ``synth.seed + index``).

    The site is generated at ``synth.site_resolutions_m[index % n]`` (``synth.resolution_m``
    when that list is empty). When that cell size differs from ``resolution_m`` (default
    ``synth.resolution_m``, or the site's own with ``synth.keep_site_resolutions``) the
    forest is resampled onto a grid of that cell size (bilinear).
    """
    from forestgaps_engine.synth.forest import generate_forest

    seed = synth.seed + index
    native_m = (
        synth.site_resolutions_m[index % len(synth.site_resolutions_m)]
        if synth.site_resolutions_m
        else synth.resolution_m
    )
    if resolution_m is None and synth.site_resolutions_m and not synth.keep_site_resolutions:
        resolution_m = synth.resolution_m
    forest = generate_forest(
        synth.size_px,
        resolution_m=native_m,
        crs=synth.crs,
        seed=seed,
        nodata_holes=synth.nodata_holes,
        open_stand_share=synth.open_stand_share,
    )
    name = f"synthetic_{seed:04d}"
    source = f"synthetic forest seed {seed}"
    dsm, chm = (
        Band(values=values, valid=forest.valid & np.isfinite(values), grid=forest.grid, path=source)
        for values in (forest.dsm_m, forest.chm_m)
    )
    record: dict[str, Any] = {
        "site": name,
        "kind": "synthetic",
        "generator": {
            "seed": seed,
            "size_px": synth.size_px,
            "resolution_m": native_m,
            "crs": synth.crs,
            "nodata_holes": synth.nodata_holes,
            "open_stand_share": synth.open_stand_share,
        },
        "chm": "generated with the DSM",
    }
    if resolution_m is not None and abs(resolution_m - native_m) > 1e-9:
        from forestgaps_engine.geo.warp import metric_grid_for, warp_to_grid

        target = metric_grid_for(forest.grid, resolution_m)
        record["inputs"] = {
            key: _input_record(source, forest.grid, target, "bilinear") for key in ("dsm", "chm")
        }
        dsm, chm = warp_to_grid(dsm, target), warp_to_grid(chm, target)
    record["grid"] = grid_record(dsm.grid)
    return SiteRasters(name, dsm, chm, record)


def grid_record(grid: Grid) -> dict[str, Any]:
    """JSON-friendly grid: CRS, transform (6 coefficients), shape, resolution."""
    return {
        "crs": grid.crs,
        "transform": list(grid.transform)[:6],
        "height_px": grid.height_px,
        "width_px": grid.width_px,
        "resolution_m": list(grid.resolution_m),
    }

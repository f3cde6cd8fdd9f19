"""The grid a model predicts on, and streaming views of rasters warped onto another grid.

A model sees heights at the cell size it was trained on; a DSM at another resolution
(beyond a 10 % tolerance) or in degrees is viewed through a GDAL WarpedVRT on a metric grid
at the model's resolution, read window by window like the file itself, and the outputs are
warped back onto the input grid the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from forestgaps_engine.geo.crs import is_geographic
from forestgaps_engine.geo.grid import Grid

logger = logging.getLogger(__name__)

RESOLUTION_TOLERANCE = 0.10


def working_grid(grid: Grid, model_resolution_m: float, source: str) -> Grid:
    """The grid to predict on: ``grid`` itself when it suits the model, else a metric grid.

    Args:
        grid: the input DSM's grid.
        model_resolution_m: the model's training cell size, metres.
        source: file name for log messages.
    """
    from forestgaps_engine.geo.warp import metric_grid_for

    if is_geographic(grid.crs):
        return metric_grid_for(grid, model_resolution_m)
    res_x, res_y = grid.resolution_m
    relative = max(abs(res_x - model_resolution_m), abs(res_y - model_resolution_m))
    if relative <= RESOLUTION_TOLERANCE * model_resolution_m:
        return grid
    target = metric_grid_for(grid, model_resolution_m)
    logger.info(
        "%s: %g x %g m cells differ from the model's %g m; predicting on a %d x %d px grid "
        "at %g m and resampling the outputs back to the input grid",
        source,
        res_x,
        res_y,
        model_resolution_m,
        target.width_px,
        target.height_px,
        model_resolution_m,
    )
    return target


def _resampling_for(source: Grid, target: Grid, is_mask: bool) -> Any:
    from rasterio.enums import Resampling

    if is_mask:
        return Resampling.nearest
    # Averaging when cells grow keeps small gaps' depth; bilinear when they shrink.
    if target.resolution_m[0] > 1.5 * source.resolution_m[0] and source.crs == target.crs:
        return Resampling.average
    return Resampling.bilinear


@contextmanager
def view_on_grid(
    dataset: Any, source_grid: Grid, target: Grid, is_mask: bool = False
) -> Iterator[Any]:
    """A rasterio dataset reading ``dataset`` on ``target`` (``dataset`` itself when equal).

    Args:
        dataset: open single-band rasterio dataset on ``source_grid``.
        source_grid: its grid (its CRS may override the file's).
        target: grid to read on.
        is_mask: nearest-neighbour resampling (masks, ids) instead of bilinear/average.
    """
    if source_grid.same_cells(target):
        yield dataset
        return
    from rasterio.vrt import WarpedVRT

    options: dict[str, Any] = {
        "crs": target.crs,
        "transform": target.transform,
        "width": target.width_px,
        "height": target.height_px,
        "resampling": _resampling_for(source_grid, target, is_mask),
    }
    if source_grid.crs is not None and dataset.crs is None:
        options["src_crs"] = source_grid.crs
    if dataset.nodata is not None:
        options["nodata"] = dataset.nodata
    with WarpedVRT(dataset, **options) as vrt:
        yield vrt

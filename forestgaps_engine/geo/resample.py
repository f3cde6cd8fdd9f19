"""The grid a model predicts on, and streaming views of rasters warped onto another grid.

A model sees heights at the cell size it was trained on, or at any cell size its card
declares it runs on natively (``native_resolutions_m``, measured on held-out sites); a DSM
outside that range (beyond a 10 % tolerance) or in degrees is viewed through a GDAL
WarpedVRT on a metric grid at the range's nearer end (in degrees: the training cell size),
read window by window like the file itself, and the outputs are warped back onto the input
grid the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from forestgaps_engine.geo.crs import is_geographic
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.nodata import (
    SENTINEL_MAX_M,
    is_undeclared_fill_possible,
    warn_if_fill_found,
)
from forestgaps_engine.geo.warp import metric_grid_for

logger = logging.getLogger(__name__)

RESOLUTION_TOLERANCE = 0.10


def native_range_m(card: Any) -> tuple[float, float]:
    """Cell sizes (min, max) a model predicts on without resampling, metres.

    A card's ``native_resolutions_m`` when it declares one (measured on held-out sites at
    several cell sizes), else its training ``resolution_m`` alone.
    """
    declared = getattr(card, "native_resolutions_m", None)
    if declared:
        return (float(declared[0]), float(declared[1]))
    return (float(card.resolution_m), float(card.resolution_m))


def working_grid(
    grid: Grid,
    model_resolution_m: float,
    source: str,
    native_range: tuple[float, float] | None = None,
    is_logged: bool = True,
) -> Grid:
    """The grid to predict on: ``grid`` itself when it suits the model, else a metric grid.

    Square cells within ``native_range`` (10 % tolerance at both ends) are predicted on as
    they are. Other cells are resampled onto square ones at the nearest size in the
    range: finer cells to its finest end, coarser ones to its coarsest, non-square ones
    by their finer side (the model's windows count pixels, so stretched cells would
    stretch the canopy it sees). A DSM in degrees gets a metric grid at its own cell size
    in metres, brought into the range the same way.

    Args:
        grid: the input DSM's grid.
        model_resolution_m: the model's training cell size, metres.
        source: file name for log messages.
        native_range: (min, max) cell sizes the model runs on natively; default
            ``model_resolution_m`` alone.
        is_logged: say which grid is used; False for a plan made before the work (the
            service's limits), so a refused request logs no prediction.
    """
    if is_geographic(grid.crs):
        if native_range is None:
            return metric_grid_for(grid, model_resolution_m)
        metric_m = metric_grid_for(grid).resolution_m[0]
        return metric_grid_for(grid, _into_range(metric_m, *native_range))
    finest_m, coarsest_m = native_range or (model_resolution_m, model_resolution_m)
    res_x, res_y = grid.resolution_m
    is_square = _close(res_x, res_y)
    if is_square and all(within_native_range(res, finest_m, coarsest_m) for res in (res_x, res_y)):
        if is_logged and finest_m < coarsest_m and not _close(res_x, model_resolution_m):
            logger.info(
                "%s: %g x %g m cells, predicted on as they are (the model was trained at "
                "%g m and runs natively on %g-%g m cells)",
                source,
                res_x,
                res_y,
                model_resolution_m,
                finest_m,
                coarsest_m,
            )
        return grid
    target_m = _into_range(min(res_x, res_y), finest_m, coarsest_m)
    target = metric_grid_for(grid, target_m)
    if not is_logged:
        return target
    logger.info(
        "%s: %g x %g m cells differ from the model's %s m; predicting on a %d x %d px grid "
        "at %g m and resampling the outputs back to the input grid",
        source,
        res_x,
        res_y,
        f"{finest_m:g}-{coarsest_m:g}" if finest_m < coarsest_m else f"{finest_m:g}",
        target.width_px,
        target.height_px,
        target_m,
    )
    return target


def within_native_range(cell_m: float, finest_m: float, coarsest_m: float) -> bool:
    """Whether ``predict`` runs a model on ``cell_m`` cells as they are (10 % tolerance)."""
    return (
        finest_m * (1.0 - RESOLUTION_TOLERANCE)
        <= cell_m
        <= coarsest_m * (1.0 + RESOLUTION_TOLERANCE)
    )


def _into_range(cell_m: float, finest_m: float, coarsest_m: float) -> float:
    """``cell_m`` itself when the model runs on it, else the nearer end of the range."""
    if within_native_range(cell_m, finest_m, coarsest_m):
        return cell_m
    return finest_m if cell_m < finest_m else coarsest_m


def _close(value_m: float, reference_m: float) -> bool:
    return abs(value_m - reference_m) <= RESOLUTION_TOLERANCE * reference_m


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
    elif is_undeclared_fill_possible(dataset):
        # -9999 fill a file does not declare must not be blended into heights (geo.nodata).
        options["src_nodata"] = options["nodata"] = SENTINEL_MAX_M
        warn_if_fill_found(dataset)
    with WarpedVRT(dataset, **options) as vrt:
        yield vrt

"""Undeclared nodata: fill values a height raster holds without saying they are nodata.

Exporters often fill empty cells with ``-9999``, ``-32768``, float32's lowest value
(``-3.4028235e38``) or ``-3.4e38`` and forget to declare it. Read as heights, those cells
become deep holes: a DSM with a ``-9999`` border "succeeds" with most of it called gap.
No height on Earth is at or below ``-9999`` m (nor in feet or centimetres for land), so
such cells are nodata whatever the file declares; a warning names the value and how to
declare it. A DSM or DTM whose border is filled with exact zeros while every other cell
lies well above sea level gets the same treatment (a CHM is never checked for zeros:
ground cells of a CHM are 0 m).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import numpy as np

from forestgaps_engine.geo.units import low_high_percentiles

logger = logging.getLogger(__name__)

# At or below this no land surface lies, in metres, feet or centimetres (Dead Sea shore:
# -430 m); -9999, -32767, -32768, -99999 and float32's lowest value all fall here.
SENTINEL_MAX_M = -9999.0
# Zeros on a DSM's border are fill when the 1st percentile of its other heights is above
# this: a lowland DSM near sea level keeps its zeros.
ZERO_FILL_MIN_HEIGHT_M = 10.0
# Distinct fill values named in a warning.
_MAX_VALUES_NAMED = 3
# Rasters already warned about (one warning per open file, not per window read).
_WARNED: OrderedDict[tuple[int, str], None] = OrderedDict()
_WARNED_KEPT = 64


def sentinel_cells(raw: np.ndarray) -> np.ndarray | None:
    """Cells of ``raw`` at or below ``SENTINEL_MAX_M``, or None when there is none.

    One min-reduction decides the common case (no fill value) without a mask.

    Args:
        raw: (H, W) band values as read, any numeric dtype, NaN allowed.

    Returns:
        (H, W) bool, True at fill cells; None when no cell is fill.
    """
    if raw.size == 0:
        return None
    if np.issubdtype(raw.dtype, np.integer):
        if np.iinfo(raw.dtype).min > SENTINEL_MAX_M:
            return None
        lowest = raw.min()
    else:
        # fmin skips NaN, so a NaN cell does not hide a fill value.
        lowest = np.fmin.reduce(raw, axis=None)
    if not lowest <= SENTINEL_MAX_M:
        return None
    return raw <= SENTINEL_MAX_M


def zero_fill_cells(values: np.ndarray, valid: np.ndarray) -> np.ndarray | None:
    """Exact zeros of an elevation raster whose border holds zeros and whose rest is high.

    Args:
        values: (H, W) float heights in metres, NaN where invalid.
        valid: (H, W) bool validity.

    Returns:
        (H, W) bool, True at the zero cells to treat as nodata; None when the zeros look
        like real heights (no zero on the border, or other heights near sea level).
    """
    if values.size == 0 or values.ndim != 2:
        return None
    border = np.concatenate([values[0], values[-1], values[:, 0], values[:, -1]])
    if not np.any(border == 0.0):
        return None
    zeros = valid & (values == 0.0)
    others = valid & ~zeros
    if not others.any() or low_high_percentiles(values, others)[0] <= ZERO_FILL_MIN_HEIGHT_M:
        return None
    return zeros


def warn_undeclared(source: str, raw: np.ndarray, cells: np.ndarray, key: int = 0) -> None:
    """Warn once per raster that ``cells`` hold undeclared fill values, naming them.

    Args:
        source: the file, as the user gave it.
        raw: (H, W) values as read.
        cells: (H, W) bool fill cells (from ``sentinel_cells`` or ``zero_fill_cells``).
        key: distinguishes two opens of one file (e.g. ``id(dataset)``); 0 for whole reads.
    """
    marker = (key, source)
    if key and marker in _WARNED:
        return
    _WARNED[marker] = None
    while len(_WARNED) > _WARNED_KEPT:
        _WARNED.popitem(last=False)
    found = np.unique(raw[cells])[:_MAX_VALUES_NAMED]
    named = ", ".join(f"{float(value):g}" for value in found)
    logger.warning(
        "%s: cells hold %s but the file declares no nodata value; they are treated as "
        "nodata, not heights. Declare it so every tool agrees: gdal_edit.py -a_nodata %s %s",
        source,
        named,
        f"{float(found[0]):g}",
        source,
    )


def is_undeclared_fill_possible(dataset: Any) -> bool:
    """Whether an open rasterio dataset declares no nodata and no other mask."""
    from rasterio.enums import MaskFlags

    return dataset.nodata is None and dataset.mask_flag_enums[0] == [MaskFlags.all_valid]


def edge_windows(height_px: int, width_px: int, edge_px: int) -> list[Any]:
    """The top, bottom, left and right strips (``edge_px`` wide) of a raster, as Windows.

    The edges are where an irregular footprint's fill shows, and reading them costs four
    thin windows, not the raster.
    """
    from rasterio.windows import Window

    rows, cols = min(edge_px, height_px), min(edge_px, width_px)
    return [
        Window(0, 0, width_px, rows),
        Window(0, height_px - rows, width_px, rows),
        Window(0, 0, cols, height_px),
        Window(width_px - cols, 0, cols, height_px),
    ]


def warn_if_fill_found(dataset: Any, max_rows_px: int = 64) -> None:
    """Warn about fill values on the border rows and columns of an open dataset.

    For reads that do not see the raw cells (a warped view declares the fill as its
    nodata); see ``edge_windows``.
    """
    from rasterio.errors import RasterioIOError

    for window in edge_windows(dataset.height, dataset.width, max_rows_px):
        try:
            raw = dataset.read(1, window=window)
        except RasterioIOError:
            return  # a damaged file is reported by the read that needs the cells
        cells = sentinel_cells(raw)
        if cells is not None:
            warn_undeclared(dataset.name, raw, cells, key=id(dataset))
            return

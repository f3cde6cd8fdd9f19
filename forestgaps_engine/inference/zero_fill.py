"""Undeclared zero-filled borders of a DSM read by windows (#22 item 9).

Whole-raster reads find a zero border by looking at every cell (``geo.nodata``).
predict streams the DSM window by window and never holds it, so the same rule is
applied at open time to what decides it cheaply: the edge rows and columns (where the
fill of an irregular footprint shows) and, when those hold too few heights, a decimated
read of the raster (its overviews when it has some). A DSM found zero-filled is then
read through an in-memory VRT that declares nodata 0: every later read (the stream,
the warped view, the labelling and the warp back) sees the zeros as nodata, exactly as
for a file that declares them.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from forestgaps_engine.geo.nodata import (
    SENTINEL_MAX_M,
    ZERO_FILL_MIN_HEIGHT_M,
    edge_windows,
    is_undeclared_fill_possible,
    warn_undeclared,
)

# Width of the edge strips read at open time: 4 x 64 rows/columns of a 4096² DSM is
# 6 % of its cells.
EDGE_PX = 64
# Fewer heights than this in the strips (a fill wider than them): the decimated read
# decides instead.
MIN_HEIGHT_SAMPLES = 1000
# Longest side of the decimated read (nearest: exact zeros stay zeros).
OVERVIEW_SIDE_PX = 256


def _heights(raw: np.ndarray) -> np.ndarray:
    """The cells of ``raw`` that read as heights: finite, not zero, not a fill sentinel."""
    values = raw.astype(np.float32, copy=False).ravel()
    return values[np.isfinite(values) & (values != 0.0) & (values > SENTINEL_MAX_M)]


def has_zero_fill(dataset: Any) -> bool:
    """Whether an open single-band DSM holds an undeclared zero fill on its border.

    The rule of ``geo.nodata.zero_fill_cells``: exact zeros on the outermost rows or
    columns, and the 1st percentile of the other heights above ``ZERO_FILL_MIN_HEIGHT_M``
    (a lowland DSM near sea level keeps its zeros).

    Args:
        dataset: open rasterio dataset, band 1 heights in metres.

    Returns:
        False as well when the file declares nodata or a mask, or cannot be read (the
        read that needs the cells reports a damaged file).
    """
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError

    if not is_undeclared_fill_possible(dataset):
        return False
    height_px, width_px = dataset.height, dataset.width
    try:
        top, bottom, left, right = (
            dataset.read(1, window=window)
            for window in edge_windows(height_px, width_px, EDGE_PX)
        )
        outer = np.concatenate([top[0], bottom[-1], left[:, 0], right[:, -1]])
        if not np.any(outer == 0):
            return False
        heights = np.concatenate([_heights(strip) for strip in (top, bottom, left, right)])
        if heights.size < MIN_HEIGHT_SAMPLES:
            scale = max(height_px, width_px) / OVERVIEW_SIDE_PX
            shape = (max(1, round(height_px / scale)), max(1, round(width_px / scale)))
            coarse = dataset.read(1, out_shape=shape, resampling=Resampling.nearest)
            heights = np.concatenate([heights, _heights(coarse)])
    except RasterioIOError:
        return False
    if heights.size == 0:
        return False
    return float(np.percentile(heights, 1)) > ZERO_FILL_MIN_HEIGHT_M


def _vrt_with_nodata(dataset: Any, nodata: float) -> str:
    """VRT XML reading band 1 of ``dataset`` unchanged, declaring ``nodata``."""
    from rasterio.dtypes import dtype_rev, typename_fwd

    width_px, height_px = str(dataset.width), str(dataset.height)
    root = ElementTree.Element("VRTDataset", rasterXSize=width_px, rasterYSize=height_px)
    if dataset.crs is not None:
        ElementTree.SubElement(root, "SRS").text = dataset.crs.to_wkt()
    transform = ", ".join(repr(value) for value in dataset.transform.to_gdal())
    ElementTree.SubElement(root, "GeoTransform").text = transform
    data_type = typename_fwd[dtype_rev[dataset.dtypes[0]]]
    band = ElementTree.SubElement(root, "VRTRasterBand", dataType=data_type, band="1")
    ElementTree.SubElement(band, "NoDataValue").text = repr(float(nodata))
    source = ElementTree.SubElement(band, "SimpleSource")
    name = dataset.name if dataset.name.startswith("/vsi") else os.path.abspath(dataset.name)
    ElementTree.SubElement(source, "SourceFilename", relativeToVRT="0").text = name
    ElementTree.SubElement(source, "SourceBand").text = "1"
    rectangle = {"xOff": "0", "yOff": "0", "xSize": width_px, "ySize": height_px}
    ElementTree.SubElement(source, "SrcRect", rectangle)
    ElementTree.SubElement(source, "DstRect", rectangle)
    return ElementTree.tostring(root, encoding="unicode")


@contextmanager
def zero_fill_as_nodata(dataset: Any) -> Iterator[Any]:
    """Return ``dataset``, or a view declaring nodata 0 when its border is a zero fill.

    The view comes only for an undeclared zero fill, with a warning naming the value and
    ``gdal_edit.py``.

    Args:
        dataset: open single-band rasterio DSM.

    Yields:
        An open rasterio dataset on the same grid and cells.
    """
    if not has_zero_fill(dataset):
        yield dataset
        return
    from rasterio.io import MemoryFile

    warn_undeclared(
        dataset.name, np.zeros(1, dtype=np.float32), np.ones(1, dtype=bool), key=id(dataset)
    )
    with (
        MemoryFile(_vrt_with_nodata(dataset, 0.0).encode("utf-8"), ext=".vrt") as memory,
        memory.open() as view,
    ):
        yield view

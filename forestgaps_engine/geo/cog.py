"""Cloud Optimized GeoTIFF output: tiled, compressed, with internal overviews.

The GDAL COG driver only writes by copying a finished dataset, so outputs are first built
as a plain GeoTIFF (on disk or in memory) and then copied here.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from forestgaps_engine.files import atomic_path
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.write_check import gdal_write_errors_raised, verify_raster

logger = logging.getLogger(__name__)

OVERVIEW_RESAMPLINGS = ("nearest", "average", "bilinear", "mode")
COG_BLOCK_SIZE_PX = 256


def copy_as_cog(source: Any, path: str | Path, overview_resampling: str = "nearest") -> None:
    """Copy an open rasterio dataset (or a raster path) to ``path`` as a COG.

    Not atomic: call it on a temporary path (``to_cog`` does). Overviews are built down to
    one block (GDAL's ``OVERVIEWS=AUTO``), none for rasters smaller than a block.

    Args:
        source: open rasterio dataset or raster path.
        path: output file.
        overview_resampling: ``"average"`` for continuous values (heights, probabilities),
            ``"nearest"`` for masks and ids.
    """
    from rasterio.shutil import copy

    if overview_resampling not in OVERVIEW_RESAMPLINGS:
        raise ValueError(
            f"overview_resampling must be one of {OVERVIEW_RESAMPLINGS}, got "
            f"{overview_resampling!r}"
        )
    copy(
        source,
        str(path),
        driver="COG",
        COMPRESS="DEFLATE",
        PREDICTOR="YES",
        BLOCKSIZE=COG_BLOCK_SIZE_PX,
        OVERVIEW_RESAMPLING=overview_resampling.upper(),
        BIGTIFF="IF_SAFER",
    )


def to_cog(src: str | Path, target: str | Path, overview_resampling: str | None = None) -> Path:
    """Convert the raster ``src`` into a Cloud Optimized GeoTIFF at ``target``, atomically.

    Args:
        src: any single-band raster GDAL reads.
        target: output .tif; may equal ``src`` (the original is replaced on success only).
        overview_resampling: see ``copy_as_cog``; default ``"average"`` for floating-point
            rasters, ``"nearest"`` for integer ones (class ids must not be blended).

    Returns:
        ``target`` as a Path.

    Raises:
        InvalidDataFormatError: ``src`` is missing, not a raster, or has several bands.
    """
    from forestgaps_engine.geo.raster_io import open_single_band

    with open_single_band(src) as dataset:
        if overview_resampling is None:
            is_float = dataset.dtypes[0].startswith("float")
            overview_resampling = "average" if is_float else "nearest"
        grid = Grid(None, dataset.transform, dataset.height, dataset.width)
        verify = functools.partial(verify_raster, grid=grid, dtype=dataset.dtypes[0])
        with atomic_path(target, verify) as temp_path, gdal_write_errors_raised(temp_path):
            copy_as_cog(dataset, temp_path, overview_resampling)
    logger.debug("wrote COG %s (overviews: %s)", target, overview_resampling)
    return Path(target)

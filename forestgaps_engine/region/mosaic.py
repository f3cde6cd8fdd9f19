"""One virtual mosaic over tiles in any CRS: each off-CRS tile warped in a VRT, one BuildVRT.

Tiles already in the target CRS are mosaicked as they are (a cell of the mosaic is the
tile's own cell when the tile lies on the mosaic's lattice). A tile in another CRS goes
through ``gdal.Warp`` into a warped VRT on the mosaic's lattice (``targetAlignedPixels``:
edges on whole multiples of the cell size), so GDAL reads and resamples it on demand and
nothing is copied. ``gdal.BuildVRT`` then lays every source on one grid.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from forestgaps_engine.errors import CRSMismatchError, DataError
from forestgaps_engine.files import atomic_path
from forestgaps_engine.geo.crs import crs_string, is_geographic
from forestgaps_engine.geo.grid import Grid

logger = logging.getLogger(__name__)

MOSAIC_NODATA = -9999.0
MOSAIC_FILE = "mosaic.vrt"


@dataclass(frozen=True)
class TileInfo:
    """What the mosaic needs to know of one tile before reading it."""

    path: Path
    crs: str
    resolution_m: float


@dataclass(frozen=True)
class Mosaic:
    """A harmonised mosaic: the VRT, its grid, and how many tiles had to be warped."""

    path: Path
    grid: Grid
    n_tiles: int
    n_warped: int


def describe_tiles(tiles: list[Path]) -> list[TileInfo]:
    """CRS and finer cell side of every tile.

    Raises:
        DataError: a tile GDAL cannot open, or one without a CRS.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    infos = []
    for tile in tiles:
        try:
            with rasterio.open(tile) as dataset:
                crs = crs_string(dataset.crs)
                resolution_m = min(abs(dataset.transform.a), abs(dataset.transform.e))
        except RasterioIOError as error:
            raise DataError(
                f"{tile}: not a raster GDAL can read ({error})",
                hint="Remove the file from the tiles or repair it.",
            ) from error
        if crs is None:
            raise CRSMismatchError(
                f"{tile}: the tile has no CRS, so it cannot be placed in the mosaic",
                hint=f"Assign its CRS first: gdal_edit.py -a_srs EPSG:XXXX {tile}",
            )
        infos.append(TileInfo(tile, crs, resolution_m))
    return infos


def target_crs(infos: list[TileInfo], crs: str | None) -> str:
    """``crs`` if given, else the CRS most tiles have (the first tile's on a tie).

    Raises:
        CRSMismatchError: the chosen CRS is geographic (cells must be metres).
    """
    chosen = crs or Counter(info.crs for info in infos).most_common(1)[0][0]
    if is_geographic(chosen):
        raise CRSMismatchError(
            f"the region's CRS {chosen} is in degrees; gap areas need metres",
            hint="Pass --crs with a projected CRS (e.g. the national grid or UTM zone).",
        )
    return chosen


def finest_resolution_m(infos: list[TileInfo], crs: str) -> float:
    """The finest cell side among the tiles in ``crs`` (all tiles when none is)."""
    same = [info.resolution_m for info in infos if info.crs == crs]
    return min(same or [info.resolution_m for info in infos])


def build_mosaic(
    infos: list[TileInfo], crs: str, resolution_m: float, work_dir: Path
) -> Mosaic:
    """Write ``work_dir/mosaic.vrt`` (and one warped VRT per off-CRS tile).

    Args:
        infos: the tiles.
        crs: the mosaic's CRS (metric).
        resolution_m: its square cell side.
        work_dir: where the VRTs go (existing folder).
    """
    import rasterio
    from osgeo import gdal

    from forestgaps_engine.geo.raster_io import grid_of

    gdal.UseExceptions()
    # Warped tiles and the mosaic share one lattice (edges on whole cells) and resampling.
    lattice = dict(xRes=resolution_m, yRes=resolution_m, targetAlignedPixels=True,
                   resampleAlg="bilinear")  # fmt: skip
    warped_dir = work_dir / "warped"
    sources: list[str] = []
    n_warped = 0
    for index, info in enumerate(infos):
        if info.crs == crs:
            sources.append(str(info.path))
            continue
        warped_dir.mkdir(exist_ok=True)
        target = warped_dir / f"{index:05d}_{info.path.stem}.vrt"
        options = gdal.WarpOptions(format="VRT", dstSRS=crs, dstNodata=MOSAIC_NODATA,
                                   outputType=gdal.GDT_Float32, **lattice)  # fmt: skip
        with atomic_path(target) as temp_path:
            dataset = gdal.Warp(str(temp_path), str(info.path), options=options)
            dataset = None  # noqa: F841 - closing writes the VRT
        sources.append(str(target))
        n_warped += 1
    mosaic_path = work_dir / MOSAIC_FILE
    options = gdal.BuildVRTOptions(resolution="user", VRTNodata=MOSAIC_NODATA, outputSRS=crs,
                                   **lattice)  # fmt: skip
    with atomic_path(mosaic_path) as temp_path:
        dataset = gdal.BuildVRT(str(temp_path), sources, options=options)
        if dataset is None:
            raise DataError(
                f"GDAL could not mosaic the {len(sources)} tiles into {mosaic_path}",
                hint="Check that every tile is a single-band height raster.",
            )
        dataset = None  # noqa: F841 - closing writes the VRT
    with rasterio.open(mosaic_path) as dataset:
        grid = grid_of(dataset)
    logger.info(
        "mosaic of %d tiles (%d warped to %s) at %g m: %d x %d px",
        len(infos), n_warped, crs, resolution_m, grid.width_px, grid.height_px,
    )  # fmt: skip
    return Mosaic(mosaic_path, grid, len(infos), n_warped)


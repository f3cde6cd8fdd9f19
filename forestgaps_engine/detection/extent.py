"""A DSM (or CHM/DTM) cut to a processing extent, as a VRT over the file (no copy).

The extent is first cut to the raster's bounds, so the VRT never reaches past them; a
CRS override (what the GIS uses for a file storing none) is carried by the same VRT.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.errors import DataError

Bounds = tuple[float, float, float, float]


class ExtentOutsideError(DataError):
    """The processing extent does not overlap the raster."""

    def __init__(self, message: str, hint: str | None = None, source: str = "") -> None:
        super().__init__(message, hint)
        self.source = source


@dataclass(frozen=True)
class PreparedRaster:
    """A raster ready for the engine: ``path`` is the file itself or a VRT over it.

    Attributes:
        path: what to read.
        size_px: (width, height) after the cut; None when the file is used as it is.
        is_clipped: True when ``path`` is cut to an extent.
    """

    path: str
    size_px: tuple[int, int] | None
    is_clipped: bool


def raster_bounds(dataset: Any) -> Bounds:
    """(xmin, ymin, xmax, ymax) of an open GDAL dataset, in its CRS."""
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    xs = (x0, x0 + dx * dataset.RasterXSize)
    ys = (y0, y0 + dy * dataset.RasterYSize)
    return min(xs), min(ys), max(xs), max(ys)


def overlap(extent: Bounds, bounds: Bounds) -> Bounds | None:
    """The part of ``extent`` inside ``bounds``; None when they do not overlap."""
    xmin, ymin = max(extent[0], bounds[0]), max(extent[1], bounds[1])
    xmax, ymax = min(extent[2], bounds[2]), min(extent[3], bounds[3])
    if xmin >= xmax or ymin >= ymax:
        return None
    return xmin, ymin, xmax, ymax


def prepare_raster(
    source: str | Path,
    work_dir: Path,
    name: str,
    extent: Bounds | None = None,
    crs: str | None = None,
) -> PreparedRaster:
    """``source`` itself, or a VRT over it cut to ``extent`` and/or carrying ``crs``.

    Args:
        source: raster file.
        work_dir: folder for the VRT (the caller removes it).
        name: file stem of the VRT ("dsm", "chm", "dtm").
        extent: (xmin, ymin, xmax, ymax) in the raster's CRS, or None for all of it.
        crs: CRS to assign (EPSG id or WKT), or None to keep the file's.

    Raises:
        ExtentOutsideError: ``extent`` misses the raster.
        DataError: GDAL cannot read or cut the raster.
    """
    from osgeo import gdal

    source = str(source)
    if extent is None and crs is None:
        return PreparedRaster(source, None, False)  # read as it is, errors in the reader's words
    gdal.UseExceptions()
    dataset = clipped = None
    try:
        dataset = gdal.Open(source)
        options: dict[str, Any] = {"format": "VRT"}
        if extent is not None:
            inside = overlap(extent, raster_bounds(dataset))
            if inside is None:
                raise ExtentOutsideError(
                    f"{source}: the extent {_rounded(extent)} does not overlap the raster's "
                    f"bounds {_rounded(raster_bounds(dataset))}",
                    hint="Choose an extent within the raster's bounds, in its CRS.",
                    source=source,
                )
            xmin, ymin, xmax, ymax = inside
            options["projWin"] = [xmin, ymax, xmax, ymin]
        if crs:
            options["outputSRS"] = crs
        target = work_dir / f"{name}.vrt"
        clipped = gdal.Translate(str(target), dataset, **options)
        size_px = (clipped.RasterXSize, clipped.RasterYSize)
    except RuntimeError as error:
        raise DataError(
            f"{source}: cannot be cut to the extent {extent} ({error})",
            hint="Check that the extent overlaps the raster, in its CRS.",
        ) from error
    finally:
        dataset = clipped = None  # closes both; the VRT is flushed to disk
    return PreparedRaster(str(target), size_px, extent is not None)


def _rounded(bounds: Bounds) -> str:
    return "(" + ", ".join(f"{value:.2f}" for value in bounds) + ")"

"""The tiles of a region: a folder, a list of rasters, or a VRT that mosaics them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from forestgaps_engine.errors import DataError

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc", ".jp2")


def collect_tiles(inputs: Sequence[str | Path]) -> list[Path]:
    """The raster tiles named by ``inputs``, sorted, without duplicates.

    A folder contributes its rasters (not its sub-folders); a ``.vrt`` contributes the
    files it mosaics (GDAL's file list), so its tiles are warped one by one like the others.

    Raises:
        DataError: an input does not exist, or nothing readable was named.
    """
    tiles: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                child for child in path.iterdir()
                if child.is_file() and child.suffix.lower() in RASTER_SUFFIXES
            )  # fmt: skip
            if not found:
                raise DataError(
                    f"{path}: the folder holds no raster tiles ({', '.join(RASTER_SUFFIXES)})",
                    hint="Point at the folder that holds the DSM or CHM tiles.",
                )
            tiles.extend(found)
        elif path.is_file() and path.suffix.lower() == ".vrt":
            tiles.extend(_vrt_sources(path))
        elif path.is_file():
            tiles.append(path)
        else:
            raise DataError(f"{path}: no such file or folder", hint="Check the tile paths.")
    unique = sorted({tile.resolve() for tile in tiles})
    if not unique:
        raise DataError("no tiles given", hint="Name a folder, a list of rasters or a VRT.")
    return unique


def _vrt_sources(vrt: Path) -> list[Path]:
    """The files a VRT mosaics (the VRT itself when GDAL lists none)."""
    from osgeo import gdal

    dataset = gdal.Open(str(vrt))
    if dataset is None:
        raise DataError(f"{vrt}: GDAL cannot open this VRT", hint="Check the file.")
    files = [Path(name) for name in (dataset.GetFileList() or [])[1:]]
    return files or [vrt]

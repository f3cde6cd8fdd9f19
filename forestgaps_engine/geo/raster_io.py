"""Single-band raster reading with a validity mask, and atomic, tiled, compressed writing.

Final outputs can be Cloud Optimized GeoTIFFs (``to_cog``, ``write_array(..., cog=True)``):
tiled, compressed, with overviews, so QGIS displays large results fast.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.errors import EmptyRasterError, InvalidDataFormatError
from forestgaps_engine.files import atomic_path
from forestgaps_engine.geo.crs import check_horizontal_units, crs_string, normalize_crs
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.nodata import (
    sentinel_cells,
    warn_undeclared,
    zero_fill_cells,
)
from forestgaps_engine.geo.read_budget import check_read_memory
from forestgaps_engine.geo.units import HeightKind, check_vertical_units
from forestgaps_engine.geo.write_check import gdal_write_errors_raised, verify_raster

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RasterProfile:
    """Named creation options for one kind of output."""

    dtype: str
    nodata: float | int | None
    predictor: int  # 2 = horizontal differencing (integers), 3 = floating point
    # Overviews of continuous values are averaged; class ids and masks must stay exact.
    overview_resampling: str = "nearest"
    # False for temporaries read back several times: decoding deflate cost ~1 s of the
    # post-processing of a 4096² threshold; a plain raster reads 4-5x faster.
    compress: bool = True

    def creation_options(self, grid: Grid) -> dict[str, Any]:
        """GDAL creation options of this profile for a raster on ``grid``."""
        # 256 px internal tiles make windowed reads cheap; GTiff needs multiples of 16.
        tiled = grid.width_px >= 256 and grid.height_px >= 256
        options: dict[str, Any] = {
            "driver": "GTiff",
            "dtype": self.dtype,
            "nodata": self.nodata,
            "count": 1,
        }
        if self.compress:
            options.update(
                compress="deflate",
                # Level 1: measured on 2048² rasters, the files were the same size (12.1 MB
                # of probabilities, 5.8-6.0 MB of gap ids) and written 1.7-3x faster than
                # at GDAL's default level 6; deflate any GDAL reads.
                zlevel=1,
                predictor=self.predictor,
                # GDAL compresses blocks on all cores: predict writes between model calls,
                # when the cores are otherwise idle (0.97 -> 0.61-0.71 s for a 4096² float32
                # raster written in 448-row windows on 2 busy cores).
                num_threads="ALL_CPUS",
            )
        options["BIGTIFF"] = "IF_SAFER"
        if tiled:
            options.update(tiled=True, blockxsize=256, blockysize=256)
        return options


HEIGHT_PROFILE = RasterProfile(
    dtype="float32", nodata=-9999.0, predictor=3, overview_resampling="average"
)
PROBABILITY_PROFILE = RasterProfile(
    dtype="float32", nodata=-1.0, predictor=3, overview_resampling="average"
)
MASK_PROFILE = RasterProfile(dtype="uint8", nodata=255, predictor=2)
GAP_ID_PROFILE = RasterProfile(dtype="int32", nodata=None, predictor=2)


@dataclass(frozen=True)
class Band:
    """One raster band in memory.

    Attributes:
        values: (H, W) float32; NaN where ``valid`` is False.
        valid: (H, W) bool; False at nodata and non-finite cells.
        grid: where the cells lie.
        path: the file it was read from (for messages).
    """

    values: np.ndarray
    valid: np.ndarray
    grid: Grid
    path: str


def open_single_band(path: str | Path) -> Any:
    """Open ``path`` with rasterio, checking it is a single-band raster.

    Raises:
        InvalidDataFormatError: the file is missing, not a raster, or has several bands.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    path = Path(path)
    if not path.exists():
        raise InvalidDataFormatError(
            f"{path}: file not found", hint="Check the path (and the current folder)."
        )
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as error:
        raise InvalidDataFormatError(
            f"{path}: not a readable raster ({error})",
            hint="Pass a GeoTIFF (or another GDAL raster format) holding heights in metres.",
        ) from error
    if dataset.count != 1:
        count = dataset.count
        dataset.close()
        raise InvalidDataFormatError(
            f"{path}: has {count} bands, one height band was expected",
            hint="Extract the height band first (e.g. gdal_translate -b 1 in.tif out.tif).",
        )
    return dataset


def grid_of(dataset: Any, crs_override: str | None = None) -> Grid:
    """The Grid of an open rasterio dataset; a missing CRS gets ``crs_override`` or a warning."""
    crs = crs_string(dataset.crs)
    crs_override = normalize_crs(crs_override, f"{dataset.name}: CRS override")
    if crs_override is not None:
        if crs is not None and crs != crs_override:
            logger.warning(
                "%s: stored CRS %s replaced by the CRS given, %s", dataset.name, crs, crs_override
            )
        crs = crs_override
    elif crs is None:
        logger.warning(
            "%s has no CRS; outputs will have none either. Assign it: "
            "gdal_edit.py -a_srs EPSG:XXXX %s",
            dataset.name,
            dataset.name,
        )
    return Grid(crs, dataset.transform, dataset.height, dataset.width)


# Band types whose nodata test is done here as GDAL does it; others (float64, 64-bit
# integers, whose nodata rasterio hands over as a float) take the masked read.
_COMPARED_DTYPES = ("float32", "uint8", "int8", "uint16", "int16", "uint32", "int32")
_FLOAT32_EPSILON = float(np.finfo(np.float32).eps)


def read_valid_values(
    dataset: Any, window: Any = None, warn_key: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Band 1 of a rasterio dataset as (float32 values NaN where invalid, bool valid).

    Invalid: the dataset's mask, and NaN or infinite values. When the mask is just the
    band's nodata value (or there is none) and the band is float32 or a 8-32 bit integer,
    the cells are compared with the nodata value here, with GDAL's rule: a masked read
    has GDAL build a mask band from the same blocks, a third of the read's time. Other
    masks (per-dataset, alpha) and band types go through the masked read. Undeclared fill
    is warned about once per ``warn_key`` (default: once per open dataset; 0: every read).
    """
    key = id(dataset) if warn_key is None else warn_key
    from rasterio.enums import MaskFlags

    flags = dataset.mask_flag_enums[0]
    nodata = dataset.nodata
    compared = dataset.dtypes[0] in _COMPARED_DTYPES
    if compared and (
        flags == [MaskFlags.all_valid] or (flags == [MaskFlags.nodata] and nodata is not None)
    ):
        raw = _read_checked(dataset, window=window)
        values = raw.astype(np.float32, copy=False)
        valid = np.isfinite(values)
        if flags == [MaskFlags.nodata]:
            # valid and not nodata, in one pass (True > False only).
            np.greater(valid, _is_nodata(raw, float(nodata)), out=valid)
        else:
            _drop_undeclared_fill(dataset, raw, valid, key)
        values[~valid] = np.nan
        return values, valid
    masked = _read_checked(dataset, window=window, masked=True)
    # Filled in place: a float32 band is not copied (masked.filled would copy it).
    values = np.asarray(masked.data, dtype=np.float32)
    valid = np.isfinite(values)
    valid &= ~np.ma.getmaskarray(masked)
    if flags == [MaskFlags.all_valid]:
        _drop_undeclared_fill(dataset, masked.data, valid, key)
    values[~valid] = np.nan
    return values, valid


def _read_checked(dataset: Any, **kwargs: Any) -> Any:
    """``dataset.read(1, **kwargs)``; a damaged or truncated file is the user's to fix.

    Raises:
        InvalidDataFormatError: GDAL cannot decode the blocks read (truncated copy,
            corrupt compression), naming the file.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        if rasterio.env.hasenv():
            return dataset.read(1, **kwargs)
        # Inside an Env GDAL's messages go to logging, not as raw lines to stderr.
        with rasterio.Env():
            return dataset.read(1, **kwargs)
    except RasterioIOError as error:
        raise InvalidDataFormatError(
            f"{dataset.name}: the raster is damaged or truncated; GDAL cannot read its "
            f"cells ({str(error).splitlines()[0]})",
            hint=f"Copy or export the file again; gdalinfo -checksum {dataset.name} "
            "shows whether it reads.",
        ) from error


def _drop_undeclared_fill(dataset: Any, raw: np.ndarray, valid: np.ndarray, key: int) -> None:
    """Mark fill values of a raster without declared nodata invalid (see geo.nodata)."""
    cells = sentinel_cells(raw)
    if cells is not None:
        valid &= ~cells
        warn_undeclared(dataset.name, raw, cells, key=key)


def _is_nodata(raw: np.ndarray, nodata: float) -> np.ndarray:
    """The cells GDAL's nodata mask band (3.6) marks, for float32 and 8-32 bit integers.

    Integers: a nodata outside the type's range marks nothing, one inside is truncated
    to the type. float32: equal within GDAL's tolerance, ``|x - n| < 2 eps |x + n|``
    (about 4 ulps); NaN cells are left to the caller's finiteness test.
    """
    if np.isnan(nodata):
        return np.zeros(raw.shape, dtype=bool)
    if np.issubdtype(raw.dtype, np.integer):
        info = np.iinfo(raw.dtype)
        if not info.min <= nodata <= info.max:
            return np.zeros(raw.shape, dtype=bool)
        return raw == raw.dtype.type(nodata)
    target = np.float32(nodata)
    with np.errstate(over="ignore", invalid="ignore"):
        # A superset by two comparisons, then GDAL's test on those few cells only.
        slack = np.float32(4.0 * _FLOAT32_EPSILON * abs(float(target)) * 1.01)
        near = (raw >= target - slack) & (raw <= target + slack)
        candidates = raw[near]
        if candidates.size:
            tolerance = np.float32(2.0 * _FLOAT32_EPSILON) * np.abs(candidates + target)
            near[near] = (candidates == target) | (np.abs(candidates - target) < tolerance)
    return near


def read_band(path: str | Path, crs_override: str | None = None) -> Band:
    """Read a single-band raster as float32 with NaN at nodata and a validity mask.

    Args:
        path: raster file.
        crs_override: CRS to assign when the file has none (or to replace a wrong one).

    Raises:
        InvalidDataFormatError: not a raster, or not single-band.
        EmptyRasterError: no valid cell.
    """
    with open_single_band(path) as dataset:
        grid = grid_of(dataset, crs_override)
        check_read_memory(str(path), grid, dataset.dtypes[0])
        # Key 0: a file read again (a second run) is warned about again.
        values, valid = read_valid_values(dataset, warn_key=0)
    band = Band(values=values, valid=valid, grid=grid, path=str(path))
    if not band.valid.any():
        raise EmptyRasterError(
            f"{path}: every cell is nodata",
            hint="Check the nodata value of the file, or pick another raster.",
        )
    return band


def read_height_band(
    path: str | Path, kind: HeightKind = "elevation", crs_override: str | None = None
) -> Band:
    """``read_band`` plus the unit checks every height input needs.

    Args:
        path: raster of heights in metres (a DSM/DTM: ``kind="elevation"``; a CHM:
            ``kind="chm"``).
        kind: which plausibility range applies to the values.
        crs_override: CRS to assign when the file has none.

    Raises:
        InvalidDataFormatError: not a raster, or not single-band.
        EmptyRasterError: no valid cell.
        CRSMismatchError: a CRS in feet or with unknown units.
        DataError: values clearly not in metres (feet, centimetres).
    """
    band = read_band(path, crs_override=crs_override)
    if kind == "elevation":
        zeros = zero_fill_cells(band.values, band.valid)
        if zeros is not None:
            band.valid[zeros] = False
            band.values[zeros] = np.nan
            warn_undeclared(str(path), np.zeros(1, dtype=np.float32), np.ones(1, dtype=bool))
    check_horizontal_units(band.grid.crs, str(path))
    check_vertical_units(band.values, band.valid, kind, str(path))
    return band


@contextmanager
def open_raster_for_writing(
    target: str | Path, grid: Grid, profile: RasterProfile
) -> Iterator[Any]:
    """Open a temporary GeoTIFF for (windowed) writes; it becomes ``target`` on success.

    The file is renamed into place only when GDAL signalled no failure while writing and
    closing it and it reads back (``geo.write_check``); else ``OutputWriteError`` (or
    ``DiskFullError``) and the previous ``target`` stays.
    """
    import rasterio

    verify = functools.partial(verify_raster, grid=grid, dtype=profile.dtype)
    with atomic_path(target, verify, _raster_bytes(grid, profile)) as temp_path:
        options = _on_grid(grid, profile.creation_options(grid))
        with gdal_write_errors_raised(temp_path), rasterio.open(temp_path, "w", **options) as out:
            yield out


def _on_grid(grid: Grid, options: dict[str, Any]) -> dict[str, Any]:
    """``rasterio.open`` keywords of a raster on ``grid`` with creation ``options``."""
    return dict(height=grid.height_px, width=grid.width_px, crs=grid.crs,
                transform=grid.transform, **options)  # fmt: skip


def _raster_bytes(grid: Grid, profile: RasterProfile) -> int:
    """Uncompressed size of a raster of ``grid`` with ``profile``, bytes (an upper bound)."""
    return grid.height_px * grid.width_px * np.dtype(profile.dtype).itemsize


def write_array(
    target: str | Path,
    array: np.ndarray,
    grid: Grid,
    profile: RasterProfile,
    cog: bool = False,
) -> Path:
    """Write a whole (H, W) array atomically with ``profile``; NaN becomes the profile nodata.

    Args:
        target: output path (.tif).
        array: (H, W) values; float NaN is written as ``profile.nodata``.
        grid: where the cells lie; its shape must match ``array``.
        profile: dtype, nodata, compression.
        cog: write a Cloud Optimized GeoTIFF with overviews (for final outputs).
    """
    if array.shape != grid.shape:
        raise ValueError(f"array shape {array.shape} does not match grid shape {grid.shape}")
    with atomic_path(target, needed_bytes=_raster_bytes(grid, profile)) as temp_path:
        write_array_to(temp_path, array, grid, profile, cog=cog)
    return Path(target)


def write_array_to(
    path: Path, array: np.ndarray, grid: Grid, profile: RasterProfile, cog: bool = False
) -> None:
    """Write ``array`` straight to ``path`` (not atomic: for use inside ``atomic_path``).

    Raises:
        OutputWriteError: GDAL signalled a failure while writing or closing ``path``, or
            the file does not read back whole (``geo.write_check``).
    """
    import rasterio
    from rasterio.io import MemoryFile

    from forestgaps_engine.geo.cog import copy_as_cog

    data = array
    if np.issubdtype(array.dtype, np.floating) and profile.nodata is not None:
        data = np.where(np.isfinite(array), array, profile.nodata)
    data = data.astype(profile.dtype, copy=False)
    options = profile.creation_options(grid)
    # The in-memory copy of a COG takes no file layout: copy_as_cog sets tiling and compression.
    plain = {key: options[key] for key in ("driver", "dtype", "nodata", "count")}
    with gdal_write_errors_raised(path):
        if not cog:
            with rasterio.open(path, "w", **_on_grid(grid, options)) as dataset:
                dataset.write(data, 1)
        else:
            with MemoryFile() as memory, memory.open(**_on_grid(grid, plain)) as dataset:
                dataset.write(data, 1)
                copy_as_cog(dataset, path, profile.overview_resampling)
    verify_raster(path, grid, profile.dtype)

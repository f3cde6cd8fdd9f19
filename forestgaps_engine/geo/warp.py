"""Bringing rasters onto one metric grid: UTM choice, warping, harmonizing DSM/DTM/CHM/masks.

Heights are resampled bilinearly, masks and class ids with nearest neighbour (their values
are labels, not quantities); validity always travels with nearest so a cell is valid only
where its source cell was.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from forestgaps_engine.errors import CRSMismatchError, DataError
from forestgaps_engine.geo.crs import check_horizontal_units, is_geographic
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import Band, read_band, read_height_band

logger = logging.getLogger(__name__)

# Both sides of a CRS-less warp get this CRS so GDAL does a pure affine resampling.
_STAND_IN_CRS = "EPSG:32631"


def utm_crs_for(lon: float, lat: float) -> str:
    """The WGS 84 / UTM zone CRS holding (lon, lat), with the Norway/Svalbard exceptions.

    Args:
        lon: longitude in degrees, -180..180.
        lat: latitude in degrees, -80..84 (the UTM domain).

    Returns:
        ``"EPSG:326zz"`` north of the equator, ``"EPSG:327zz"`` south of it.

    Raises:
        DataError: the point lies outside the UTM domain.
    """
    if not (-80.0 <= lat <= 84.0 and -180.0 <= lon <= 180.0):
        raise DataError(
            f"({lon:.4f}, {lat:.4f}) is outside the UTM domain (lat -80..84, lon -180..180)",
            hint="Pass a target grid in a metric CRS suited to the area (e.g. polar stereographic).",
        )
    zone = min(60, int(math.floor((lon + 180.0) / 6.0)) + 1)
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        zone = 32
    if 72.0 <= lat < 84.0 and 0.0 <= lon < 42.0:
        zone = 31 if lon < 9.0 else 33 if lon < 21.0 else 35 if lon < 33.0 else 37
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _nice_resolution(resolution: float) -> float:
    """Round to 2 significant digits (0.9134 -> 0.91) so warped grids get readable cells."""
    digits = 1 - int(math.floor(math.log10(resolution)))
    return round(resolution, digits)


def metric_grid_for(source: Band | Grid, resolution_m: float | None = None) -> Grid:
    """A grid in metres covering ``source``.

    A geographic source gets the UTM zone of its centre (with a warning) and a cell size
    close to its own (or ``resolution_m``); a metric source keeps its grid, or is re-gridded
    at ``resolution_m`` over the same extent. Edges are snapped to multiples of the cell.

    Args:
        source: a Band or its Grid.
        resolution_m: cell size of the result in metres; None keeps the source's.

    Raises:
        CRSMismatchError: the CRS uses feet or unknown units.
    """
    grid = source.grid if isinstance(source, Band) else source
    check_horizontal_units(grid.crs, getattr(source, "path", "grid"), warn_geographic=False)
    if not is_geographic(grid.crs):
        if resolution_m is None:
            return grid
        return Grid.snapped(grid.crs, grid.bounds, resolution_m)
    from rasterio.warp import calculate_default_transform, transform, transform_bounds

    left, bottom, right, top = grid.bounds
    lons, lats = transform(grid.crs, "EPSG:4326", [(left + right) / 2], [(bottom + top) / 2])
    utm = utm_crs_for(lons[0], lats[0])
    if resolution_m is None:
        native, _, _ = calculate_default_transform(
            grid.crs, utm, grid.width_px, grid.height_px, left, bottom, right, top
        )
        resolution_m = _nice_resolution(abs(native.a))
    utm_bounds = transform_bounds(grid.crs, utm, left, bottom, right, top, densify_pts=21)
    target = Grid.snapped(utm, utm_bounds, resolution_m)
    logger.warning(
        "%s is in degrees (%s); warping onto %s at %g m cells (%d x %d px)",
        getattr(source, "path", "the grid"),
        grid.crs,
        utm,
        resolution_m,
        target.width_px,
        target.height_px,
    )
    return target


def warp_to_grid(band: Band, target: Grid, resampling: str = "bilinear") -> Band:
    """Resample ``band`` onto ``target`` (reprojecting when the CRSs differ).

    Args:
        band: values (H, W) float32 with validity.
        target: the grid to fill.
        resampling: a rasterio ``Resampling`` name: ``"bilinear"`` for heights,
            ``"nearest"`` for masks and ids.

    Returns:
        A Band on ``target``: cells outside ``band`` or over its nodata are invalid (NaN).

    Raises:
        CRSMismatchError: exactly one of the two grids has a CRS.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    method = getattr(Resampling, resampling)
    if band.grid.same_cells(target):
        return Band(values=band.values, valid=band.valid, grid=target, path=band.path)
    src_crs, dst_crs = band.grid.crs, target.crs
    if (src_crs is None) != (dst_crs is None):
        raise CRSMismatchError(
            f"{band.path}: cannot warp a grid with CRS {src_crs} onto one with CRS {dst_crs}",
            hint=f"Assign {band.path if src_crs is None else 'the target grid'} its CRS: "
            "gdal_edit.py -a_srs EPSG:XXXX FILE.",
        )
    if src_crs is None:
        src_crs = dst_crs = _STAND_IN_CRS
    # Values and validity are placed alike; validity always travels with nearest.
    placing = {
        "src_transform": band.grid.transform,
        "src_crs": src_crs,
        "dst_transform": target.transform,
        "dst_crs": dst_crs,
    }
    values = np.full(target.shape, np.nan, dtype=np.float32)
    source = np.where(band.valid, band.values, np.nan).astype(np.float32)
    reproject(source, values, src_nodata=np.nan, dst_nodata=np.nan, resampling=method, **placing)
    valid_u8 = np.zeros(target.shape, dtype=np.uint8)
    is_valid = band.valid.astype(np.uint8)
    reproject(
        is_valid, valid_u8, src_nodata=None, dst_nodata=0, resampling=Resampling.nearest, **placing
    )
    valid = valid_u8.astype(bool) & np.isfinite(values)
    values[~valid] = np.nan
    return Band(values=values, valid=valid, grid=target, path=band.path)


def bounds_in(grid: Grid, crs: str | None) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of ``grid`` in ``crs`` (densified: curved edges kept in)."""
    if grid.crs is None or crs is None or grid.crs == crs:
        return grid.bounds
    from rasterio.warp import transform_bounds

    return transform_bounds(grid.crs, crs, *grid.bounds, densify_pts=21)


def bounds_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether two (left, bottom, right, top) boxes share some area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _read_input(key: str, path: str | Path, crs: str | None, is_mask: bool) -> Band:
    if is_mask:
        band = read_band(path, crs_override=crs)
        check_horizontal_units(band.grid.crs, str(path))
        return band
    kind = "chm" if "chm" in key.lower() else "elevation"
    return read_height_band(path, kind=kind, crs_override=crs)


def harmonize(
    inputs: Mapping[str, str | Path],
    target: Grid | None = None,
    crs_overrides: Mapping[str, str] | None = None,
    mask_keys: Collection[str] = (),
) -> dict[str, Band]:
    """Read every input and warp it onto one metric grid.

    Args:
        inputs: name -> raster path, e.g. ``{"dsm": ..., "dtm": ..., "labels": ...}``.
            Names containing "chm" are checked as canopy heights, others as elevations.
        target: grid to warp onto; default: the grid of ``inputs["dsm"]`` (or of the
            first input), moved to UTM when it is geographic.
        crs_overrides: name -> CRS for inputs that store none (or a wrong one).
        mask_keys: names holding masks/classes: nearest resampling, no height checks.

    Returns:
        name -> Band on the target grid, in the order of ``inputs``.

    Raises:
        CRSMismatchError: one input has a CRS and another none, or an input does not
            overlap the target grid.
        InvalidDataFormatError, EmptyRasterError, DataError: a bad input (see read_band).
    """
    if not inputs:
        raise ValueError("harmonize needs at least one input")
    overrides = dict(crs_overrides or {})
    unknown = set(overrides) - set(inputs)
    if unknown:
        raise ValueError(f"crs_overrides names {sorted(unknown)}, not among {list(inputs)}")
    bands = {
        key: _read_input(key, path, overrides.get(key), key in mask_keys)
        for key, path in inputs.items()
    }
    with_crs = [band for band in bands.values() if band.grid.crs is not None]
    without_crs = [band for band in bands.values() if band.grid.crs is None]
    if with_crs and without_crs:
        raise CRSMismatchError(
            f"{with_crs[0].path} has CRS {with_crs[0].grid.crs} but {without_crs[0].path} "
            "has none, so they cannot be placed on one grid",
            hint=f"Assign {without_crs[0].path} its CRS, e.g. gdal_edit.py -a_srs "
            f"{with_crs[0].grid.crs} {without_crs[0].path} if it is the same.",
        )
    reference_key = "dsm" if "dsm" in bands else next(iter(bands))
    reference = bands[reference_key]
    if target is None:
        target = metric_grid_for(reference)
    elif (target.crs is None) != (reference.grid.crs is None):
        raise CRSMismatchError(
            f"target grid CRS {target.crs} and {reference.path} CRS {reference.grid.crs} "
            "cannot be matched",
            hint="Give every input and the target grid a CRS.",
        )
    target_bounds = target.bounds
    warped: dict[str, Band] = {}
    for key, band in bands.items():
        bounds = bounds_in(band.grid, target.crs)
        if not bounds_overlap(bounds, target_bounds):
            raise CRSMismatchError(
                f"{band.path} and {reference.path} do not overlap: in {target.crs} the first "
                f"covers {_fmt(bounds)} and the grid of the second {_fmt(target_bounds)}",
                hint="Check that both files show the same area and carry the right CRS.",
            )
        resampling = "nearest" if key in mask_keys else "bilinear"
        warped[key] = warp_to_grid(band, target, resampling)
        if not warped[key].valid.any():
            raise CRSMismatchError(
                f"{band.path} has no valid cell where it overlaps {reference.path}",
                hint="Check that both files show the same area and carry the right CRS.",
            )
    return warped


def _fmt(bounds: tuple[float, float, float, float]) -> str:
    return "(" + ", ".join(f"{value:.1f}" for value in bounds) + ")"


def chm_from_dsm_dtm(dsm: Band, dtm: Band) -> Band:
    """Canopy height = DSM - DTM on one grid, negatives clipped to 0.

    Args:
        dsm: surface elevations (H, W), metres.
        dtm: ground elevations on the same grid (see ``harmonize``), metres.

    Returns:
        (H, W) heights above ground in metres, valid where both inputs are.

    Raises:
        CRSMismatchError: the grids differ (harmonize them first).
    """
    if not dsm.grid.same_cells(dtm.grid):
        raise CRSMismatchError(
            f"{dsm.path} and {dtm.path} are on different grids "
            f"({dsm.grid.crs} {dsm.grid.shape} vs {dtm.grid.crs} {dtm.grid.shape})",
            hint="Bring them onto one grid first with harmonize({'dsm': ..., 'dtm': ...}).",
        )
    valid = dsm.valid & dtm.valid
    with np.errstate(invalid="ignore"):
        height_m = np.maximum(dsm.values - dtm.values, 0.0).astype(np.float32)
    height_m[~valid] = np.nan
    return Band(values=height_m, valid=valid, grid=dsm.grid, path=f"{dsm.path} - {dtm.path}")

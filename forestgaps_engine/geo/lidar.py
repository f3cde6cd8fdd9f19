"""Lidar point clouds (LAS/LAZ) to DSM, DTM and CHM rasters.

Points are streamed in chunks (laspy ``chunk_iterator``): memory grows with the grid, not
with the number of points. Each cell keeps the highest return (surface) and the lowest
ground point (class 2); surfaces are then filled inside the cloud's footprint.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from forestgaps_engine.errors import ConfigError, DataError, InvalidDataFormatError
from forestgaps_engine.files import atomic_path, ensure_writable_dir, refuse_overwriting_inputs
from forestgaps_engine.geo.crs import (
    check_horizontal_units,
    crs_string,
    is_geographic,
    normalize_crs,
)
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, Band, write_array_to
from forestgaps_engine.geo.surface_fill import (
    footprint,
    footprint_radius_px,
    ground_from_lowest,
    surface_from_highest,
)
from forestgaps_engine.geo.units import check_vertical_units
from forestgaps_engine.geo.warp import chm_from_dsm_dtm
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

NormalizedMode = Literal["chm", "raw"]
GROUND_CLASS = 2
NOISE_CLASSES = (7, 18)  # ASPRS low and high noise
CHUNK_POINTS = 1_000_000
MAX_GRID_CELLS = 400_000_000
# A normalised cloud puts (nearly) all ground returns at height 0.
NEAR_ZERO_M = 1.0
NORMALISED_GROUND_FRACTION = 0.95
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, RuntimeError, EOFError)


@dataclass
class _CellExtremes:
    """Per-cell accumulators filled chunk by chunk."""

    grid: Grid
    highest_m: np.ndarray
    lowest_ground_m: np.ndarray
    point_count: int = 0
    ground_count: int = 0
    ground_near_zero: int = 0
    near_zero: int = 0
    min_z_m: float = field(default=np.inf)

    @classmethod
    def empty(cls, grid: Grid) -> _CellExtremes:
        return cls(
            grid=grid,
            highest_m=np.full(grid.shape, -np.inf, dtype=np.float32),
            lowest_ground_m=np.full(grid.shape, np.inf, dtype=np.float32),
        )

    def add(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, is_ground: np.ndarray) -> None:
        inverse = ~self.grid.transform
        cols, rows = inverse * (x, y)
        rows = np.floor(rows).astype(np.int64)
        cols = np.floor(cols).astype(np.int64)
        height_px, width_px = self.grid.shape
        # Points on the right/bottom edge belong to the last cell; stray points are dropped.
        rows[rows == height_px] = height_px - 1
        cols[cols == width_px] = width_px - 1
        inside = (rows >= 0) & (rows < height_px) & (cols >= 0) & (cols < width_px)
        cells = rows[inside] * width_px + cols[inside]
        z = z[inside].astype(np.float32)
        is_ground = is_ground[inside]
        self.point_count += int(cells.size)
        if cells.size:
            self.min_z_m = min(self.min_z_m, float(z.min()))
        self.near_zero += int((np.abs(z) <= NEAR_ZERO_M).sum())
        # Unbuffered: a cell hit by several points keeps their extreme.
        np.maximum.at(self.highest_m.reshape(-1), cells, z)
        ground_z = z[is_ground]
        self.ground_count += int(ground_z.size)
        self.ground_near_zero += int((np.abs(ground_z) <= NEAR_ZERO_M).sum())
        np.minimum.at(self.lowest_ground_m.reshape(-1), cells[is_ground], ground_z)

    def looks_height_normalised(self) -> bool:
        if self.ground_count:
            return self.ground_near_zero >= NORMALISED_GROUND_FRACTION * self.ground_count
        return self.point_count > 0 and abs(self.min_z_m) <= NEAR_ZERO_M and self.near_zero > 0


def _cloud_crs(header: Any, path: Path) -> str | None:
    try:
        parsed = header.parse_crs()
    except ImportError:  # pyproj missing: read the EPSG code from the GeoTIFF keys
        parsed = None
        for vlr in header.vlrs:
            for key in getattr(vlr, "geo_keys", []):
                if key.id in (3072, 2048) and key.value_offset not in (0, 32767):
                    return f"EPSG:{key.value_offset}"
    except Exception as error:  # noqa: BLE001 - malformed CRS records are a warning, not fatal
        logger.warning("%s: CRS records could not be parsed (%s)", path, error)
        return None
    return crs_string(parsed)


def open_point_cloud(path: Path, is_whole: bool = False) -> Any:
    """A LAS/LAZ reader of ``path`` (``laspy.open``, read in chunks), or the whole cloud.

    Raises:
        InvalidDataFormatError: the file is missing or not a readable LAS/LAZ.
    """
    import laspy

    if not path.is_file():
        raise InvalidDataFormatError(
            f"{path}: file not found", hint="Check the path (and the current folder)."
        )
    try:
        return laspy.read(path) if is_whole else laspy.open(path)
    except (laspy.errors.LaspyException, *_READ_ERRORS) as error:
        raise InvalidDataFormatError(
            f"{path}: not a readable LAS/LAZ point cloud ({error})",
            hint="Pass a .las or .laz file; re-export it if it was truncated.",
        ) from error


def _accumulate(path: Path, reader: Any, grid: Grid, reporter: Reporter) -> _CellExtremes:
    import laspy

    extremes = _CellExtremes.empty(grid)
    total = max(int(reader.header.point_count), 1)
    done = 0
    try:
        for chunk in reader.chunk_iterator(CHUNK_POINTS):
            classification = np.asarray(chunk.classification)
            keep = ~np.isin(classification, NOISE_CLASSES)
            if "withheld" in chunk.point_format.dimension_names:
                keep &= ~np.asarray(chunk.withheld, dtype=bool)
            x, y, z = (np.asarray(chunk[name])[keep] for name in ("x", "y", "z"))
            extremes.add(x, y, z, classification[keep] == GROUND_CLASS)
            done += len(chunk)
            reporter.report(done / total, f"read {done:,} of {total:,} points")
    except (laspy.errors.LaspyException, *_READ_ERRORS) as error:
        raise InvalidDataFormatError(
            f"{path}: point data cannot be decoded after {done:,} points ({error})",
            hint="The file is probably truncated or corrupt; copy or export it again.",
        ) from error
    if extremes.point_count == 0:
        raise DataError(
            f"{path}: no point lies within the header bounds {grid.bounds}",
            hint="Check the file (its header may be wrong); rewrite it with PDAL or lasinfo -repair.",
        )
    return extremes


def _grid_for(path: Path, header: Any, crs: str | None, resolution_m: float) -> Grid:
    if is_geographic(crs):
        raise DataError(
            f"{path}: point coordinates are in degrees ({crs}); a {resolution_m} m grid "
            "needs metres",
            hint="Reproject the cloud to a UTM CRS first (e.g. pdal translate with filters.reprojection).",
        )
    mins, maxs = header.mins, header.maxs
    grid = Grid.snapped(crs, (mins[0], mins[1], maxs[0], maxs[1]), resolution_m)
    if grid.height_px * grid.width_px > MAX_GRID_CELLS:
        raise DataError(
            f"{path}: a {resolution_m} m grid over {maxs[0] - mins[0]:.0f} x "
            f"{maxs[1] - mins[1]:.0f} m needs {grid.height_px} x {grid.width_px} cells",
            hint="Use a coarser --resolution or tile the cloud first.",
        )
    return grid


def _write_outputs(
    out_dir: Path, arrays: dict[str, np.ndarray], grid: Grid, reporter: Reporter
) -> dict[str, Path]:
    """Write every array as a COG; all appear together or none does."""
    targets = {name: out_dir / f"{name}.tif" for name in arrays}
    with ExitStack() as stack:
        for index, (name, array) in enumerate(arrays.items()):
            temp_path = stack.enter_context(atomic_path(targets[name]))
            write_array_to(temp_path, array, grid, HEIGHT_PROFILE, cog=True)
            reporter.report((index + 1) / len(arrays), f"wrote {name}.tif")
    return targets


def rasterize_point_cloud(
    path: str | Path,
    resolution_m: float,
    out_dir: str | Path,
    crs: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    normalized: NormalizedMode | None = None,
) -> dict[str, Path]:
    """Rasterise a LAS/LAZ point cloud into ``dsm.tif``, ``dtm.tif`` and ``chm.tif``.

    The grid is snapped to whole multiples of ``resolution_m`` and covers the header
    bounds. DSM: highest non-noise return per cell, empty cells filled from the nearest
    point inside the cloud's footprint, pits raised to their neighbourhood median. DTM:
    lowest ground point (class 2) per cell, interpolated linearly elsewhere. CHM: DSM - DTM,
    clipped at 0. Outputs are Cloud Optimized GeoTIFFs (float32, nodata -9999, metres).

    Args:
        path: .las or .laz file.
        resolution_m: cell size in metres (> 0).
        out_dir: folder for the outputs (created if needed).
        crs: CRS to use instead of (or when missing from) the file's header.
        progress: callback(fraction 0..1, message).
        cancel: callback returning True to stop; nothing is left behind.
        normalized: None detects a height-normalised cloud and raises; ``"chm"`` treats
            z as heights above ground and writes ``chm.tif`` only (highest return per
            cell); ``"raw"`` skips the detection (a raw cloud near sea level).

    Returns:
        Output name (``"dsm"``, ``"dtm"``, ``"chm"``) -> path.

    Raises:
        InvalidDataFormatError: missing, not LAS/LAZ, truncated or corrupt.
        CRSMismatchError: a CRS in feet or with unknown units.
        DataError: height-normalised cloud (without ``normalized="chm"``), no ground
            points, degrees, implausible heights, or a grid too large.
        CancelledError: ``cancel`` returned True; nothing was written.
    """
    if not resolution_m or not resolution_m > 0:
        raise ConfigError(
            f"resolution_m must be a positive number of metres, got {resolution_m!r}",
            hint="Use e.g. --resolution 1 (metres per cell).",
        )
    if normalized not in (None, "chm", "raw"):
        raise ConfigError(
            f"normalized must be None, 'chm' or 'raw', got {normalized!r}",
            hint="Use --normalized chm for a height-normalised cloud.",
        )
    path = Path(path)
    reporter = Reporter(progress, cancel)
    refuse_overwriting_inputs(
        [path], [Path(out_dir) / f"{name}.tif" for name in ("dsm", "dtm", "chm")]
    )
    out_dir = ensure_writable_dir(out_dir)
    with open_point_cloud(path) as reader:
        header_crs = _cloud_crs(reader.header, path)
        crs = normalize_crs(crs, "--crs") or header_crs
        if crs is None:
            logger.warning(
                "%s has no CRS; outputs will have none. Give it one: the CRS option of "
                "rasterize (EPSG:XXXX), or write it into the LAS header",
                path,
            )
        check_horizontal_units(crs, str(path), warn_geographic=False)
        grid = _grid_for(path, reader.header, crs, resolution_m)
        logger.info(
            "%s: %d points onto %d x %d cells of %g m (%s)",
            path.name,
            reader.header.point_count,
            grid.width_px,
            grid.height_px,
            resolution_m,
            crs,
        )
        extremes = _accumulate(path, reader, grid, reporter.sub(0.0, 0.6))
    highest_m = np.where(np.isfinite(extremes.highest_m), extremes.highest_m, np.nan)
    occupied = np.isfinite(highest_m)
    radius_px = footprint_radius_px(extremes.point_count, int(occupied.sum()), resolution_m)
    inside = footprint(occupied, radius_px)
    is_normalised = extremes.looks_height_normalised()
    if normalized == "chm":
        if not is_normalised:
            raise DataError(
                f"{path}: --normalized chm was given but the cloud is not height-normalised "
                f"(lowest z {extremes.min_z_m:.1f} m, {extremes.ground_count:,} ground points "
                "away from 0 m)",
                hint="Drop --normalized to compute DSM, DTM and CHM from the raw cloud.",
            )
        chm_m = np.maximum(surface_from_highest(highest_m, inside), 0.0)
        check_vertical_units(chm_m, np.isfinite(chm_m), "chm", str(path))
        reporter.report(0.8, "canopy height model ready")
        return _write_outputs(out_dir, {"chm": chm_m}, grid, reporter.sub(0.8, 0.2))
    if is_normalised and normalized != "raw":
        raise DataError(
            f"{path}: the cloud is height-normalised (ground returns at 0 m, lowest z "
            f"{extremes.min_z_m:.2f} m): its z values are heights above ground, already a "
            "canopy height model, so no DSM/DTM can be derived",
            hint="Rasterise it as a CHM with --normalized chm (normalized='chm').",
        )
    if extremes.ground_count == 0:
        raise DataError(
            f"{path}: no ground point (class {GROUND_CLASS}), so no terrain model can be made",
            hint="Classify ground first (PDAL filters.smrf, lidR classify_ground, lasground).",
        )
    dsm_m = surface_from_highest(highest_m, inside)
    check_vertical_units(dsm_m, np.isfinite(dsm_m), "elevation", str(path))
    reporter.report(0.7, "surface model ready")
    lowest_m = np.where(np.isfinite(extremes.lowest_ground_m), extremes.lowest_ground_m, np.nan)
    dtm_m = ground_from_lowest(lowest_m, inside)
    # Nearest-filled surface cells on a slope can dip under the interpolated ground.
    dsm_m = np.where(inside, np.fmax(dsm_m, dtm_m), np.nan).astype(np.float32)
    reporter.report(0.8, "terrain model ready")
    chm = chm_from_dsm_dtm(_band(dsm_m, grid, path), _band(dtm_m, grid, path))
    check_vertical_units(chm.values, chm.valid, "chm", str(path))
    arrays = {"dsm": dsm_m, "dtm": dtm_m, "chm": chm.values}
    return _write_outputs(out_dir, arrays, grid, reporter.sub(0.8, 0.2))


def _band(values: np.ndarray, grid: Grid, path: Path) -> Band:
    return Band(values=values, valid=np.isfinite(values), grid=grid, path=str(path))

"""Turning per-cell point extremes into continuous surfaces: footprint, gap filling, pits.

Rasterised lidar leaves empty cells (fewer points than cells) and pits (a highest return
that went through the crown). Cells are filled only inside the cloud's footprint so the
outputs do not invent heights beyond the data.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

# A cell this far below the median of its 3 x 3 neighbourhood is a pit, not a gap: gaps
# worth mapping span many cells, so their median is low too.
PIT_DEPTH_M = 2.0


def _disk(radius_px: int) -> np.ndarray:
    rows, cols = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1]
    return rows**2 + cols**2 <= radius_px**2


def footprint_radius_px(point_count: int, occupied_cells: int, resolution_m: float) -> int:
    """Closing radius bridging the empty cells between points (at least 1 cell).

    Args:
        point_count: points that fell in the grid.
        occupied_cells: cells holding at least one point.
        resolution_m: cell size in metres.
    """
    area_m2 = max(occupied_cells, 1) * resolution_m**2
    spacing_m = 1.0 / math.sqrt(max(point_count, 1) / area_m2)
    return max(1, math.ceil(2.0 * spacing_m / resolution_m))


def footprint(occupied: np.ndarray, radius_px: int) -> np.ndarray:
    """Cells covered by the cloud: a morphological closing of the occupied cells.

    Args:
        occupied: (H, W) bool, True where a cell holds a point.
        radius_px: closing radius; empty areas wider than about twice this stay outside.

    Returns:
        (H, W) bool footprint (a superset of ``occupied``).
    """
    structure = _disk(radius_px)
    dilated = ndimage.binary_dilation(occupied, structure)
    # border_value=1: the grid edge is where the cloud was cut, not where it ends.
    closed = ndimage.binary_erosion(dilated, structure, border_value=1)
    return closed | occupied


def fill_nearest(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Copy of ``values`` where every unknown cell takes its nearest known cell's value."""
    if known.all():
        return values.copy()
    _, (rows, cols) = ndimage.distance_transform_edt(~known, return_indices=True)
    return values[rows, cols]


def surface_from_highest(highest_m: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """A pit-free surface from the highest point per cell.

    Args:
        highest_m: (H, W) float32, NaN where a cell holds no point.
        inside: (H, W) bool footprint; cells outside stay NaN.

    Returns:
        (H, W) float32: empty cells inside the footprint filled from the nearest point,
        pits (``PIT_DEPTH_M`` below the 3 x 3 median) raised to that median.
    """
    occupied = np.isfinite(highest_m)
    filled = fill_nearest(highest_m, occupied)
    median = ndimage.median_filter(filled, size=3, mode="nearest")
    pits = filled < median - PIT_DEPTH_M
    surface = np.where(pits, median, filled).astype(np.float32)
    surface[~inside] = np.nan
    return surface


def ground_from_lowest(lowest_m: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """A terrain surface interpolated from the lowest ground point per cell.

    Linear (Delaunay) interpolation between ground cells, nearest beyond their convex hull.

    Args:
        lowest_m: (H, W) float32, NaN where a cell holds no ground point.
        inside: (H, W) bool footprint; cells outside stay NaN.

    Returns:
        (H, W) float32 ground elevations in metres.
    """
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    known = np.isfinite(lowest_m)
    ground = lowest_m.astype(np.float32, copy=True)
    wanted = inside & ~known
    if known.sum() >= 3 and wanted.any():
        known_rc = np.argwhere(known)
        wanted_rc = np.argwhere(wanted)
        try:
            ground[wanted] = griddata(known_rc, lowest_m[known], wanted_rc, method="linear").astype(
                np.float32
            )
        except QhullError:  # collinear ground cells: nearest fill below takes over
            ground[wanted] = np.nan
    ground = fill_nearest(ground, np.isfinite(ground))
    ground[~inside] = np.nan
    return ground.astype(np.float32)

"""Where the canopy is opened: treefall gaps, clearings and tracks, with their floor vegetation.

Gaps are made by removing the trees whose centres fall inside them; the crowns around
then overhang the edges, as in a real canopy, so a gap's visible outline is irregular and
smaller openings close up. This yields a heavy-tailed gap-size distribution from a few
m2 to several thousand m2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from forestgaps_engine.synth.noise import gaussian_to_uniform, spectral_fields
from forestgaps_engine.synth.stamp import stamp_ellipses, unique_centres


@dataclass(frozen=True)
class GapLayout:
    """Openings of one site.

    Attributes:
        tree_free: (H, W) bool; trees whose centre lies here are removed.
        floor_m: (H, W) float32 vegetation height on gap floors (regeneration, shrubs).
        track_surface: (H, W) bool; maintained road surface, kept clear of crowns.
    """

    tree_free: np.ndarray
    floor_m: np.ndarray
    track_surface: np.ndarray


def treefall_gaps(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> np.ndarray:
    """Irregular, partly elongated (windthrow) openings from dead and fallen trees.

    The excursion set of a rough random field above a high level is a set of blobs whose
    sizes follow a heavy-tailed law; stretching the field along a wind direction makes
    some of them elongated. The level varies regionally: some areas are disturbed more.

    Returns:
        (H, W) bool mask.
    """
    stretch = float(rng.uniform(1.0, 2.5))
    wind_rad = float(rng.uniform(0.0, np.pi))
    field, _ = spectral_fields(shape_px, resolution_m, rng, 2.4, 5.0, 150.0, stretch, wind_rad)
    regional, _ = spectral_fields(shape_px, resolution_m, rng, 3.0, 150.0, 1500.0)
    share = float(rng.uniform(0.03, 0.09))
    level = float(ndtri(1.0 - share))
    return field > level - 0.45 * regional


def _star_polygon_mask(
    rows_px: np.ndarray, cols_px: np.ndarray, vertices_rc_px: np.ndarray
) -> np.ndarray:
    """Even-odd point-in-polygon test of pixel centres; vertices (V, 2) in (row, col)."""
    inside = np.zeros(rows_px.shape, dtype=bool)
    start = vertices_rc_px
    end = np.roll(vertices_rc_px, -1, axis=0)
    for (row0, col0), (row1, col1) in zip(start, end, strict=True):
        crosses = (row0 > rows_px) != (row1 > rows_px)
        with np.errstate(divide="ignore", invalid="ignore"):
            col_at = col0 + (rows_px - row0) * (col1 - col0) / (row1 - row0)
        inside ^= crosses & (cols_px < col_at)
    return inside


def clearings(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Large polygonal openings (clear-cuts, meadows, windthrow patches).

    Returns:
        (H, W) bool mask and (H, W) float32 regeneration stage in [0, 1] (0 = bare).
    """
    height_px, width_px = shape_px
    area_km2 = height_px * width_px * resolution_m**2 / 1e6
    mask = np.zeros(shape_px, dtype=bool)
    stage = np.zeros(shape_px, dtype=np.float32)
    count = int(rng.poisson(area_km2 * rng.uniform(1.0, 4.0)))
    for _ in range(count):
        area_m2 = float(np.clip(rng.lognormal(np.log(1200.0), 0.8), 200.0, 12000.0))
        radius_px = np.sqrt(area_m2 / np.pi) / resolution_m
        centre_row = rng.uniform(0, height_px)
        centre_col = rng.uniform(0, width_px)
        n_vertices = int(rng.integers(4, 9))
        angles = np.sort(rng.uniform(0.0, 2.0 * np.pi, n_vertices))
        radii = radius_px * rng.uniform(0.6, 1.35, n_vertices)
        vertices = np.column_stack(
            [centre_row + radii * np.sin(angles), centre_col + radii * np.cos(angles)]
        )
        reach = int(np.ceil(radii.max())) + 1
        row0, row1 = max(0, int(centre_row) - reach), min(height_px, int(centre_row) + reach + 1)
        col0, col1 = max(0, int(centre_col) - reach), min(width_px, int(centre_col) + reach + 1)
        if row0 >= row1 or col0 >= col1:
            continue
        rows, cols = np.mgrid[row0:row1, col0:col1].astype(np.float32) + 0.5
        inside = _star_polygon_mask(rows, cols, vertices)
        mask[row0:row1, col0:col1] |= inside
        stage[row0:row1, col0:col1][inside] = rng.uniform(0.0, 1.0)
    return mask, stage


def _track_centreline_px(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> np.ndarray:
    """A smooth meandering line entering from one edge: (N, 2) points (row, col) in pixels."""
    height_px, width_px = shape_px
    side = int(rng.integers(4))
    t = rng.uniform(0.1, 0.9)
    start = [
        (0.0, t * width_px),
        (t * height_px, width_px),
        (height_px, t * width_px),
        (t * height_px, 0.0),
    ][side]
    heading = [np.pi / 2, np.pi, -np.pi / 2, 0.0][side] + rng.uniform(-0.6, 0.6)
    step_px = 0.5
    step_m = step_px * resolution_m
    n_steps = int(3.0 * max(height_px, width_px) / step_px)
    # Curvature is a smoothed random walk: bends of tens to hundreds of metres.
    turn_rad_per_m = np.cumsum(rng.normal(0.0, 0.0015 * np.sqrt(step_m), n_steps))
    turn_rad_per_m -= np.convolve(turn_rad_per_m, np.ones(201) / 201.0, mode="same")
    heading_rad = heading + np.cumsum(turn_rad_per_m * step_m)
    rows = start[0] + np.cumsum(np.sin(heading_rad) * step_px)
    cols = start[1] + np.cumsum(np.cos(heading_rad) * step_px)
    inside = (rows > -20) & (rows < height_px + 20) & (cols > -20) & (cols < width_px + 20)
    leaving = np.flatnonzero(~inside)
    end = leaving[0] if leaving.size else n_steps
    return np.column_stack([rows[:end], cols[:end]])


def tracks(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Forest roads (wide cleared corridor, kept open) and skid trails (narrow, overhung).

    Returns:
        (H, W) bool corridor where trees are removed, (H, W) bool road surface.
    """
    height_px, width_px = shape_px
    extent_km = max(height_px, width_px) * resolution_m / 1000.0
    count = int(rng.poisson(extent_km * rng.uniform(0.5, 2.5)))
    centres, corridor_half_m, surface_half_m = [], [], []
    for _ in range(count):
        line = _track_centreline_px(shape_px, resolution_m, rng)
        is_road = rng.random() < 0.5
        surface_m = rng.uniform(3.0, 6.0) if is_road else rng.uniform(2.5, 4.0)
        corridor_m = surface_m + (rng.uniform(4.0, 10.0) if is_road else rng.uniform(0.5, 2.0))
        centres.append(line)
        corridor_half_m.append(np.full(len(line), corridor_m / 2.0))
        # Skid trails are not maintained: crowns may close over them.
        surface_half_m.append(np.full(len(line), surface_m / 2.0 if is_road else 0.0))
    corridor = np.zeros(shape_px, dtype=bool)
    surface = np.zeros(shape_px, dtype=bool)
    if not centres:
        return corridor, surface
    points = np.concatenate(centres)
    corridor_half = np.concatenate(corridor_half_m)
    surface_half = np.concatenate(surface_half_m)
    pixel = np.floor(points).astype(np.int64)
    keep = unique_centres(pixel[:, 0], pixel[:, 1], corridor_half)
    points, corridor_half, surface_half = points[keep], corridor_half[keep], surface_half[keep]
    # Distance to the centreline relative to the surface half-width: <= 1 on the surface.
    relative = np.full(shape_px, np.inf, dtype=np.float32)
    ratio = (corridor_half / np.maximum(surface_half, 1e-3)).astype(np.float32)
    stamp_ellipses(
        relative,
        points,
        (corridor_half / resolution_m).astype(np.float32),
        lambda distance, index: distance * ratio[index],
        reduce="min",
    )
    corridor = np.isfinite(relative)
    surface = relative <= 1.0
    return corridor, surface


def generate_gaps(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> GapLayout:
    """Treefall gaps, clearings and tracks of one site, with the vegetation on their floors.

    Args:
        shape_px: (H, W) of the raster.
        resolution_m: cell size in metres.
        rng: source of randomness.
    """
    treefall = treefall_gaps(shape_px, resolution_m, rng)
    clearing, stage = clearings(shape_px, resolution_m, rng)
    corridor, surface = tracks(shape_px, resolution_m, rng)
    # Floors: bare soil and grass to dense 0-5 m regeneration, patchy within a gap.
    patches, detail = spectral_fields(shape_px, resolution_m, rng, 2.2, 3.0, 60.0)
    vigour = gaussian_to_uniform(patches)
    texture = gaussian_to_uniform(detail)
    floor_m = 0.1 + 5.0 * vigour**2.5 * (0.5 + 0.5 * texture)
    # Clearings regrow as a whole: their stage scales the floor height.
    floor_m = np.where(clearing, 0.1 + 5.5 * stage * (0.6 + 0.4 * texture), floor_m)
    floor_m = np.where(surface, 0.05 + 0.2 * texture, floor_m)
    return GapLayout(
        tree_free=treefall | clearing | corridor,
        floor_m=floor_m.astype(np.float32),
        track_surface=surface,
    )

"""Stands, trees and the canopy surface they make (heights above ground, metres).

A site is cut into stands (Voronoi parcels with straight edges, as in managed forests);
each stand has a forest type (broadleaf, conifer, mixed), a top height and a density.
Optionally a share of the stands is open woodland: low, with most dominant trees missing,
so the ground cover shows between scattered crowns (the low, open stands of real lidar
samples, which closed synthetic canopies never show a model).
Trees stand on jittered lattices (crown competition spreads them evenly), in two layers:
dominant trees and a sparser intermediate layer below them. The canopy surface is the max over all crowns, over a
low understory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from forestgaps_engine.synth.noise import gaussian_to_uniform, spectral_fields
from forestgaps_engine.synth.stamp import stamp_ellipses, unique_centres

STAND_SPACING_M = 220.0
# Open woodland: top height and share of missing dominant trees.
OPEN_STAND_TOP_HEIGHT_M = (5.0, 14.0)
OPEN_STAND_MORTALITY = (0.5, 0.9)
MIN_CROWN_RADIUS_M = 0.8
# Crown radius / tree height: diameter ~ 0.22 x height for conifers, ~ 0.34 x for broadleaves.
CONIFER_CROWN_RATIO = 0.11
BROADLEAF_CROWN_RATIO = 0.17


@dataclass(frozen=True)
class Stands:
    """Forest parcels: one row per stand.

    Attributes:
        centres_xy_m: (S, 2) Voronoi seeds in local metres (x east, y down from the top).
        conifer_fraction: (S,) share of conifers among the trees.
        top_height_m: (S,) mean height of the dominant trees.
        height_cv: (S,) coefficient of variation of dominant heights.
        dominant_spacing: (S,) distance between dominant trees / their mean crown radius.
        intermediate_spacing: (S,) same for the intermediate layer.
        jitter: (S,) random displacement of trees / spacing (small: plantation rows).
        mortality: (S,) share of dominant trees missing (small holes in the canopy).
    """

    centres_xy_m: np.ndarray
    conifer_fraction: np.ndarray
    top_height_m: np.ndarray
    height_cv: np.ndarray
    dominant_spacing: np.ndarray
    intermediate_spacing: np.ndarray
    jitter: np.ndarray
    mortality: np.ndarray

    def mean_crown_radius_m(self, height_fraction: float) -> np.ndarray:
        """(S,) mean crown radius of trees ``height_fraction`` x the stand top height."""
        ratio = self.conifer_fraction * CONIFER_CROWN_RATIO + (1 - self.conifer_fraction) * (
            BROADLEAF_CROWN_RATIO
        )
        return np.maximum(ratio * self.top_height_m * height_fraction, MIN_CROWN_RADIUS_M)


@dataclass(frozen=True)
class Trees:
    """One row per tree; positions in local metres, (x east, y down from the top edge)."""

    x_m: np.ndarray
    y_m: np.ndarray
    height_m: np.ndarray
    radius_m: np.ndarray
    depth_m: np.ndarray
    aspect: np.ndarray
    angle_rad: np.ndarray
    is_conifer: np.ndarray
    shape_exponent: np.ndarray

    def subset(self, keep: np.ndarray) -> Trees:
        """The trees selected by a boolean mask or an index array."""
        return Trees(**{name: getattr(self, name)[keep] for name in self.__dataclass_fields__})

    @staticmethod
    def concatenate(parts: list[Trees]) -> Trees:
        """All trees of ``parts`` in one table."""
        return Trees(
            **{
                name: np.concatenate([getattr(part, name) for part in parts])
                for name in Trees.__dataclass_fields__
            }
        )


def draw_stands(
    extent_hw_m: tuple[float, float],
    rng: np.random.Generator,
    open_stand_share: float = 0.0,
    open_rng: np.random.Generator | None = None,
) -> Stands:
    """Draw the parcels covering a ``(height_m, width_m)`` area (plus a margin).

    Args:
        extent_hw_m: (height, width) of the site in metres.
        rng: source of the closed stands' attributes.
        open_stand_share: probability that a stand is open woodland (0 = none).
        open_rng: source of the open stands' draws; its own stream, so that a share of 0
            gives exactly the sites made before open stands existed.
    """
    height_m, width_m = extent_hw_m
    margin_m = STAND_SPACING_M / 2.0
    area_m2 = (height_m + 2 * margin_m) * (width_m + 2 * margin_m)
    count = max(1, int(rng.poisson(area_m2 / STAND_SPACING_M**2)))
    centres = np.column_stack(
        [
            rng.uniform(-margin_m, width_m + margin_m, count),
            rng.uniform(-margin_m, height_m + margin_m, count),
        ]
    )
    kind = rng.choice(3, size=count, p=[0.4, 0.35, 0.25])  # broadleaf, conifer, mixed
    conifer_fraction = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(0.0, 0.1, count), rng.uniform(0.9, 1.0, count)],
        rng.uniform(0.3, 0.7, count),
    )
    is_young = rng.random(count) < 0.08
    top_height_m = np.where(is_young, rng.uniform(8.0, 15.0, count), rng.uniform(18.0, 42.0, count))
    stands = Stands(
        centres_xy_m=centres,
        conifer_fraction=conifer_fraction,
        top_height_m=top_height_m,
        height_cv=rng.uniform(0.05, 0.2, count),
        dominant_spacing=rng.uniform(1.35, 1.8, count),
        intermediate_spacing=rng.uniform(1.5, 2.6, count),
        jitter=rng.uniform(0.1, 0.35, count),
        mortality=rng.uniform(0.0, 0.12, count),
    )
    if open_stand_share > 0.0:
        if open_rng is None:
            raise ValueError("open_stand_share > 0 needs open_rng")
        stands = _open_some(stands, open_stand_share, open_rng)
    return stands


def _open_some(stands: Stands, share: float, rng: np.random.Generator) -> Stands:
    """Turn each stand into open woodland with probability ``share``."""
    count = stands.top_height_m.size
    is_open = rng.random(count) < share
    low, high = OPEN_STAND_TOP_HEIGHT_M
    top_height_m = np.where(is_open, rng.uniform(low, high, count), stands.top_height_m)
    low, high = OPEN_STAND_MORTALITY
    mortality = np.where(is_open, rng.uniform(low, high, count), stands.mortality)
    return dataclasses.replace(stands, top_height_m=top_height_m, mortality=mortality)


def _crown_radius_m(
    height_m: np.ndarray, is_conifer: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    ratio = np.where(is_conifer, CONIFER_CROWN_RATIO, BROADLEAF_CROWN_RATIO)
    ratio = ratio * rng.lognormal(0.0, 0.18, height_m.size)
    return np.maximum(height_m * ratio, MIN_CROWN_RADIUS_M)


def _lattice_positions(
    stands: Stands,
    spacing_m: np.ndarray,
    jitter: np.ndarray,
    bounds_xy_m: tuple[float, float, float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered hexagonal lattices, one per stand (own spacing and angle), cut to its cell.

    Crowns compete for light, so trees are spread more evenly than a Poisson process;
    a jittered lattice gives that regularity with closed canopies at realistic densities.

    Returns:
        x_m, y_m, stand index, one entry per tree.
    """
    left, top, right, bottom = bounds_xy_m
    tree = cKDTree(stands.centres_xy_m)
    cell_m = 8.0
    grid_x = np.arange(left, right + cell_m, cell_m)
    grid_y = np.arange(top, bottom + cell_m, cell_m)
    mesh_x, mesh_y = np.meshgrid(grid_x, grid_y)
    _, label = tree.query(np.column_stack([mesh_x.ravel(), mesh_y.ravel()]))
    label = label.reshape(mesh_x.shape)
    xs, ys, owners = [], [], []
    for stand, window in enumerate(ndimage.find_objects(label + 1)):
        if window is None:
            continue
        x0 = grid_x[window[1].start] - cell_m
        x1 = grid_x[window[1].stop - 1] + cell_m
        y0 = grid_y[window[0].start] - cell_m
        y1 = grid_y[window[0].stop - 1] + cell_m
        spacing = float(spacing_m[stand])
        # Hexagonal lattice covering the rotated bounding box of the cell.
        half_diagonal = 0.5 * np.hypot(x1 - x0, y1 - y0) + spacing
        row_step = spacing * np.sqrt(3.0) / 2.0
        u = np.arange(-half_diagonal, half_diagonal, spacing)
        v = np.arange(-half_diagonal, half_diagonal, row_step)
        grid_u, grid_v = np.meshgrid(u, v)
        grid_u = grid_u + (np.arange(v.size)[:, None] % 2) * (spacing / 2.0)
        angle = rng.uniform(0.0, np.pi / 3.0)
        cos_a, sin_a = np.cos(angle), np.sin(angle)
        x = 0.5 * (x0 + x1) + grid_u.ravel() * cos_a - grid_v.ravel() * sin_a
        y = 0.5 * (y0 + y1) + grid_u.ravel() * sin_a + grid_v.ravel() * cos_a
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        x, y = x[inside], y[inside]
        x = x + rng.normal(0.0, jitter[stand] * spacing, x.size)
        y = y + rng.normal(0.0, jitter[stand] * spacing, y.size)
        _, nearest = tree.query(np.column_stack([x, y]))
        mine = (nearest == stand) & (x >= left) & (x <= right) & (y >= top) & (y <= bottom)
        xs.append(x[mine])
        ys.append(y[mine])
        owners.append(np.full(int(mine.sum()), stand, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)


def _draw_layer(
    extent_hw_m: tuple[float, float],
    stands: Stands,
    site_index: np.ndarray,
    resolution_m: float,
    rng: np.random.Generator,
    layer: str,
) -> Trees:
    height_m, width_m = extent_hw_m
    buffer_m = 12.0
    bounds = (-buffer_m, -buffer_m, width_m + buffer_m, height_m + buffer_m)
    is_dominant = layer == "dominant"
    height_fraction = 1.0 if is_dominant else 0.5
    spacing = stands.dominant_spacing if is_dominant else stands.intermediate_spacing
    spacing_m = spacing * stands.mean_crown_radius_m(height_fraction)
    jitter = stands.jitter if is_dominant else np.full_like(stands.jitter, 0.45)
    x_m, y_m, stand = _lattice_positions(stands, spacing_m, jitter, bounds, rng)
    if is_dominant:
        alive = rng.random(x_m.size) >= stands.mortality[stand]
        x_m, y_m, stand = x_m[alive], y_m[alive], stand[alive]
    count = x_m.size
    is_conifer = rng.random(count) < stands.conifer_fraction[stand]
    rows = np.clip((y_m / resolution_m).astype(np.int64), 0, site_index.shape[0] - 1)
    cols = np.clip((x_m / resolution_m).astype(np.int64), 0, site_index.shape[1] - 1)
    if is_dominant:
        relative = np.clip(rng.normal(1.0, stands.height_cv[stand]), 0.6, 1.25)
    else:
        relative = rng.uniform(0.3, 0.65, count)
    tree_height_m = stands.top_height_m[stand] * relative * site_index[rows, cols]
    tree_height_m = np.clip(tree_height_m, 2.0, 60.0)
    radius_m = _crown_radius_m(tree_height_m, is_conifer, rng)
    # Conifers: deep cone-like crowns; broadleaves: shallow ellipsoid domes.
    depth_m = tree_height_m * np.where(
        is_conifer, rng.uniform(0.35, 0.6, count), rng.uniform(0.15, 0.35, count)
    )
    return Trees(
        x_m=x_m,
        y_m=y_m,
        height_m=tree_height_m,
        radius_m=radius_m,
        depth_m=depth_m,
        aspect=np.where(is_conifer, rng.uniform(0.85, 1.0, count), rng.uniform(0.65, 1.0, count)),
        angle_rad=rng.uniform(0.0, np.pi, count),
        is_conifer=is_conifer,
        shape_exponent=rng.uniform(1.0, 1.6, count),
    )


def draw_trees(
    shape_px: tuple[int, int],
    resolution_m: float,
    rng: np.random.Generator,
    open_stand_share: float = 0.0,
    open_rng: np.random.Generator | None = None,
) -> Trees:
    """Dominant and intermediate trees of a site (centres may lie a little outside it).

    Args:
        shape_px: (H, W) of the raster.
        resolution_m: cell size in metres.
        rng: source of randomness.
        open_stand_share: probability that a stand is open woodland (see ``draw_stands``).
        open_rng: source of the open stands' draws.

    Returns:
        Trees sorted by nothing in particular, heights in metres.
    """
    extent_hw_m = (shape_px[0] * resolution_m, shape_px[1] * resolution_m)
    stands = draw_stands(extent_hw_m, rng, open_stand_share, open_rng)
    # Site quality varies smoothly inside stands (soil, water): up to +-9 % on heights.
    quality, _ = spectral_fields(shape_px, resolution_m, rng, 3.0, 40.0, 400.0)
    site_index = 1.0 + 0.06 * np.clip(quality, -1.5, 1.5)
    dominant = _draw_layer(extent_hw_m, stands, site_index, resolution_m, rng, "dominant")
    intermediate = _draw_layer(extent_hw_m, stands, site_index, resolution_m, rng, "intermediate")
    return Trees.concatenate([dominant, intermediate])


def render_canopy(trees: Trees, shape_px: tuple[int, int], resolution_m: float) -> np.ndarray:
    """Max over all crown surfaces, 0 where no crown reaches.

    Returns:
        (H, W) float32 heights above ground in metres.
    """
    canvas = np.zeros(shape_px, dtype=np.float32)
    centre_rc_px = np.column_stack([trees.y_m, trees.x_m]) / resolution_m
    pixel_rc = np.floor(centre_rc_px).astype(np.int64)
    keep = unique_centres(pixel_rc[:, 0], pixel_rc[:, 1], trees.height_m)
    trees = trees.subset(keep)
    centre_rc_px = centre_rc_px[keep]
    height = trees.height_m.astype(np.float32)
    depth = trees.depth_m.astype(np.float32)
    is_conifer = trees.is_conifer
    exponent = trees.shape_exponent.astype(np.float32)

    def crown_profile(distance: np.ndarray, index: np.ndarray) -> np.ndarray:
        cone = distance ** exponent[index]
        dome = 1.0 - np.sqrt(np.maximum(1.0 - distance * distance, 0.0))
        return height[index] - depth[index] * np.where(is_conifer[index], cone, dome)

    radius_px = np.maximum(trees.radius_m / resolution_m, 0.5).astype(np.float32)
    stamp_ellipses(
        canvas, centre_rc_px, radius_px, crown_profile, trees.aspect, trees.angle_rad, "max"
    )
    return canvas


def understory_m(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> np.ndarray:
    """Low vegetation under the canopy: mostly under 1 m, patches of 2-7 m regeneration.

    Returns:
        (H, W) float32 heights in metres.
    """
    patches, detail = spectral_fields(shape_px, resolution_m, rng, 2.5, 4.0, 80.0)
    share = gaussian_to_uniform(0.8 * patches + 0.6 * detail)
    return (0.2 + 8.0 * share**3).astype(np.float32)

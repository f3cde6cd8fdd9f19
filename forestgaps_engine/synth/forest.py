"""A whole synthetic site: terrain + canopy with gaps -> DTM, CHM and DSM on a georeferenced grid.

Deterministic per seed: each component draws from its own child of
``SeedSequence(seed)``, so the same seed gives identical arrays. Every size is in metres,
so rasters of the same seed at 0.5 m and 2 m depict the same kind of forest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array
from forestgaps_engine.synth.crowns import Trees, draw_trees, render_canopy, understory_m
from forestgaps_engine.synth.gaps import generate_gaps
from forestgaps_engine.synth.noise import spectral_fields
from forestgaps_engine.synth.terrain import generate_terrain

logger = logging.getLogger(__name__)

# Plausible forested regions (x range, y range) per CRS, so sites land on real ground.
ORIGIN_BOXES_M: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "EPSG:2154": ((800_000.0, 1_000_000.0), (6_500_000.0, 6_850_000.0)),  # Vosges/Jura
}
DEFAULT_ORIGIN_BOX_M = ((300_000.0, 700_000.0), (4_500_000.0, 5_500_000.0))  # UTM-like


@dataclass(frozen=True)
class SyntheticForest:
    """One generated site.

    Attributes:
        dsm_m: (H, W) float32 surface heights (ground + canopy), metres, NaN at nodata.
        dtm_m: (H, W) float32 ground elevation, metres, NaN at nodata.
        chm_m: (H, W) float32 canopy height above ground, metres, NaN at nodata.
        valid: (H, W) bool, False at nodata.
        grid: where the cells lie.
    """

    dsm_m: np.ndarray
    dtm_m: np.ndarray
    chm_m: np.ndarray
    valid: np.ndarray
    grid: Grid


def _origin_xy(
    crs: str, extent_xy_m: tuple[float, float], rng: np.random.Generator
) -> tuple[float, float]:
    (x_low, x_high), (y_low, y_high) = ORIGIN_BOXES_M.get(crs.upper(), DEFAULT_ORIGIN_BOX_M)
    # Snapped to 1 km so coordinates look like survey tiles.
    x = np.floor(rng.uniform(x_low, x_high - extent_xy_m[0]) / 1000.0) * 1000.0
    y = np.floor(rng.uniform(y_low + extent_xy_m[1], y_high) / 1000.0) * 1000.0
    return float(x), float(y)


def _nodata_holes(
    shape_px: tuple[int, int], resolution_m: float, rng: np.random.Generator
) -> np.ndarray:
    """Irregular patches (lidar dropouts, water bodies) covering about 1-4 % of the site."""
    field, _ = spectral_fields(shape_px, resolution_m, rng, 3.0, 8.0, 300.0)
    share = float(rng.uniform(0.01, 0.04))
    level = float(
        np.quantile(
            field[:: max(1, shape_px[0] // 256), :: max(1, shape_px[1] // 256)], 1.0 - share
        )
    )
    return field > level


def generate_forest(
    size_px: int,
    resolution_m: float = 1.0,
    crs: str = "EPSG:2154",
    seed: int = 0,
    nodata_holes: bool = False,
    origin_xy: tuple[float, float] | None = None,
    open_stand_share: float = 0.0,
) -> SyntheticForest:
    """Generate a forested site with relief, stands of varied height, gaps and tracks.

    Args:
        size_px: width and height of the square raster, in pixels.
        resolution_m: cell size in metres.
        crs: CRS written to the grid (a projected, metric CRS).
        seed: the same seed gives the same site.
        nodata_holes: add irregular patches of nodata (NaN in all three rasters).
        origin_xy: (x, y) of the top-left corner in CRS units; None draws a plausible one
            from the seed (in eastern France for EPSG:2154).
        open_stand_share: probability that a stand is open woodland, low with scattered
            crowns (0 = closed stands only, the sites made before this option).

    Returns:
        The site; ``dsm_m == dtm_m + chm_m`` wherever ``valid``.

    Raises:
        ValueError: ``size_px`` < 8, ``resolution_m`` <= 0 or ``open_stand_share``
            outside [0, 1].
    """
    if size_px < 8:
        raise ValueError(f"size_px must be at least 8, got {size_px}")
    if not resolution_m > 0:
        raise ValueError(f"resolution_m must be positive, got {resolution_m}")
    if not 0.0 <= open_stand_share <= 1.0:
        raise ValueError(f"open_stand_share must lie in [0, 1], got {open_stand_share}")
    shape_px = (int(size_px), int(size_px))
    # Spawned children depend only on their index: the eighth stream (open stands) leaves
    # the first seven, and so the sites made without it, unchanged.
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(8)]
    origin_rng, terrain_rng, tree_rng, gap_rng, under_rng, texture_rng, hole_rng, open_rng = streams
    extent_m = size_px * resolution_m
    if origin_xy is None:
        origin_xy = _origin_xy(crs, (extent_m, extent_m), origin_rng)
    grid = Grid(
        crs,
        Affine(resolution_m, 0.0, origin_xy[0], 0.0, -resolution_m, origin_xy[1]),
        size_px,
        size_px,
    )
    dtm_m = generate_terrain(shape_px, resolution_m, terrain_rng)
    trees = draw_trees(shape_px, resolution_m, tree_rng, open_stand_share, open_rng)
    chm_m = _canopy_height_m(trees, shape_px, resolution_m, gap_rng, under_rng, texture_rng)
    dsm_m = dtm_m + chm_m
    valid = np.ones(shape_px, dtype=bool)
    if nodata_holes:
        valid &= ~_nodata_holes(shape_px, resolution_m, hole_rng)
        for array in (dsm_m, dtm_m, chm_m):
            array[~valid] = np.nan
    return SyntheticForest(dsm_m=dsm_m, dtm_m=dtm_m, chm_m=chm_m, valid=valid, grid=grid)


def _canopy_height_m(
    trees: Trees,
    shape_px: tuple[int, int],
    resolution_m: float,
    gap_rng: np.random.Generator,
    under_rng: np.random.Generator,
    texture_rng: np.random.Generator,
) -> np.ndarray:
    layout = generate_gaps(shape_px, resolution_m, gap_rng)
    rows = np.clip((trees.y_m / resolution_m).astype(np.int64), 0, shape_px[0] - 1)
    cols = np.clip((trees.x_m / resolution_m).astype(np.int64), 0, shape_px[1] - 1)
    trees = trees.subset(~layout.tree_free[rows, cols])
    canopy = render_canopy(trees, shape_px, resolution_m)
    ground_cover = np.where(
        layout.tree_free, layout.floor_m, understory_m(shape_px, resolution_m, under_rng)
    )
    chm_m = np.maximum(canopy, ground_cover)
    chm_m[layout.track_surface] = layout.floor_m[layout.track_surface]
    # Leaves and branches: decimetre roughness on crowns, as in a lidar surface.
    texture, _ = spectral_fields(shape_px, resolution_m, texture_rng, 2.0, 1.0, 6.0)
    chm_m += np.float32(0.25) * texture * np.minimum(chm_m / np.float32(10.0), np.float32(1.0))
    np.maximum(chm_m, np.float32(0.0), out=chm_m)
    return chm_m.astype(np.float32, copy=False)


def write_forest(forest: SyntheticForest, out_dir: str | Path) -> dict[str, Path]:
    """Write ``dsm.tif``, ``dtm.tif`` and ``chm.tif`` (float32, nodata -9999) atomically.

    Returns:
        {"dsm": path, "dtm": path, "chm": path}.
    """
    out_dir = ensure_writable_dir(out_dir)
    paths = {}
    for name, array in (("dsm", forest.dsm_m), ("dtm", forest.dtm_m), ("chm", forest.chm_m)):
        paths[name] = write_array(out_dir / f"{name}.tif", array, forest.grid, HEIGHT_PROFILE)
    logger.info("synthetic site written to %s", out_dir)
    return paths


def write_synthetic_site(
    out_dir: str | Path,
    size_px: int,
    resolution_m: float = 1.0,
    crs: str = "EPSG:2154",
    seed: int = 0,
    nodata_holes: bool = False,
    origin_xy: tuple[float, float] | None = None,
    open_stand_share: float = 0.0,
) -> dict[str, Path]:
    """Generate a site (see ``generate_forest``) and write its three rasters to ``out_dir``."""
    forest = generate_forest(
        size_px, resolution_m, crs, seed, nodata_holes, origin_xy, open_stand_share
    )
    return write_forest(forest, out_dir)

"""A coarse terrain prior for training, made by degrading the true ground of a tile.

Users who have only a DSM nearly always have a coarse elevation model: a national 5-25 m
DEM or a global 30 m one. Training sees the same kind of input: the tile's true DTM is
block-averaged to a coarse cell drawn per sample (``cell_m``, on a grid whose origin is
shifted at random, since a real DEM's cells do not line up with the tile), given a
constant bias, a smooth bias field (correlation length ``smooth_bias_length_m``) and
per-cell noise, then resampled back onto the tile's cells bilinearly, as ``predict`` warps
a DEM onto the DSM grid.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
from scipy import ndimage

from forestgaps_engine.config.data import TerrainPriorConfig
from forestgaps_engine.geo.surface_fill import fill_nearest


def prior_rng(seed: int, tile_id: str) -> np.random.Generator:
    """The generator of one tile's degradation: same seed and tile, same prior."""
    return np.random.default_rng([seed, zlib.crc32(tile_id.encode("utf-8"))])


def _block_mean(
    ground_m: np.ndarray, cell_px: float, phase_px: tuple[float, float]
) -> np.ndarray:
    """Mean of ``ground_m`` over coarse cells ``cell_px`` wide, origin shifted by ``phase_px``."""
    height_px, width_px = ground_m.shape
    rows = np.floor((np.arange(height_px) + phase_px[0]) / cell_px).astype(np.int64)
    cols = np.floor((np.arange(width_px) + phase_px[1]) / cell_px).astype(np.int64)
    n_rows, n_cols = int(rows[-1]) + 1, int(cols[-1]) + 1
    labels = (rows[:, None] * n_cols + cols[None, :]).ravel()
    sums = np.bincount(labels, weights=ground_m.ravel().astype(np.float64), minlength=n_rows * n_cols)
    counts = np.bincount(labels, minlength=n_rows * n_cols)
    return (sums / np.maximum(counts, 1)).reshape(n_rows, n_cols)


def _smooth_field(
    shape: tuple[int, int], sigma_cells: float, rng: np.random.Generator
) -> np.ndarray:
    """Zero-mean, unit-std Gaussian random field with correlation ``sigma_cells``.

    Drawn on a margin of three sigmas around ``shape`` so a tile a few cells wide still
    gets a field whose spread does not depend on the tile's size.
    """
    margin = int(np.ceil(3 * sigma_cells))
    noise = rng.standard_normal((shape[0] + 2 * margin, shape[1] + 2 * margin))
    field = ndimage.gaussian_filter(noise, sigma_cells, mode="wrap")
    # White noise filtered by a 2-D Gaussian keeps 1 / (2 sqrt(pi) sigma) of its std.
    field *= 2.0 * np.sqrt(np.pi) * max(sigma_cells, 0.5)
    return field[margin : margin + shape[0], margin : margin + shape[1]]


def degrade_ground(
    ground_m: np.ndarray,
    valid: np.ndarray,
    resolution_m: float,
    config: TerrainPriorConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, Any]]:
    """A coarse, biased, noisy copy of ``ground_m`` on the same cells.

    Args:
        ground_m: (H, W) true ground heights, metres (any value where not ``valid``).
        valid: (H, W) bool.
        resolution_m: cell size of ``ground_m``, metres.
        config: cell size range, biases and noise.
        rng: the sample's generator (``prior_rng``).

    Returns:
        ((H, W) float32 prior heights, metres, finite everywhere; what was drawn).

    Raises:
        ValueError: no valid ground cell.
    """
    if not valid.any():
        raise ValueError("no valid ground cell to build a terrain prior from")
    ground = fill_nearest(ground_m, valid).astype(np.float32)
    cell_m = float(rng.uniform(*config.cell_m))
    cell_px = cell_m / resolution_m
    phase_px = (float(rng.uniform(0.0, cell_px)), float(rng.uniform(0.0, cell_px)))
    coarse = _block_mean(ground, cell_px, phase_px)
    offset_m = float(rng.normal(0.0, config.offset_std_m))
    coarse = coarse + offset_m
    if config.smooth_bias_std_m > 0:
        sigma_cells = config.smooth_bias_length_m / cell_m
        coarse = coarse + config.smooth_bias_std_m * _smooth_field(coarse.shape, sigma_cells, rng)
    if config.noise_std_m > 0:
        coarse = coarse + rng.normal(0.0, config.noise_std_m, coarse.shape)
    # Fine cell centres in coarse-cell index space: bilinear between coarse cell centres.
    row_pos = (np.arange(ground.shape[0]) + 0.5 + phase_px[0]) / cell_px - 0.5
    col_pos = (np.arange(ground.shape[1]) + 0.5 + phase_px[1]) / cell_px - 0.5
    grid_rows, grid_cols = np.meshgrid(row_pos, col_pos, indexing="ij")
    prior = ndimage.map_coordinates(coarse, [grid_rows, grid_cols], order=1, mode="nearest")
    drawn = {"cell_m": round(cell_m, 3), "offset_m": round(offset_m, 3)}
    return prior.astype(np.float32), drawn

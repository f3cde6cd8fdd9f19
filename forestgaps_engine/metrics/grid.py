"""Gap fraction on a coarse grid (100 m cells by default): R2, RMSE and bias of a method.

Cells lie on the CRS lattice (edges at whole multiples of the cell size), so two rasters
of the same area share their cells whatever their origins. A cell is scored when at least
``MIN_VALID_SHARE`` of its nominal area holds valid pixels; the fraction is gap pixels over
valid pixels. R2 is the coefficient of determination of the predicted fractions against
the reference ones (1 - SS_res / SS_tot), not a squared correlation: a biased method is
penalised even when it ranks cells correctly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from forestgaps_engine.geo.grid import Grid

GRID_CELL_SIZE_M = 100.0
MIN_VALID_SHARE = 0.5


@dataclass(frozen=True)
class CellFractions:
    """Gap fractions of the scored coarse cells.

    Attributes:
        reference: (n,) reference gap fraction per cell, 0..1.
        predicted: (n,) predicted gap fraction per cell.
        n_valid_px: (n,) valid pixels per cell.
    """

    reference: np.ndarray
    predicted: np.ndarray
    n_valid_px: np.ndarray


def cell_fractions(
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray,
    grid: Grid,
) -> CellFractions:
    """Reference and predicted gap fractions per ``GRID_CELL_SIZE_M`` cell.

    Args:
        reference: (H, W) reference gap mask (bool or ids > 0).
        predicted: (H, W) predicted gap mask.
        valid: (H, W) bool cells to count.
        grid: where the pixels lie (north-up; cell size in CRS units).
    """
    cell_size_m = GRID_CELL_SIZE_M
    transform = grid.transform
    cols = transform.c + (np.arange(grid.width_px) + 0.5) * transform.a
    rows = transform.f + (np.arange(grid.height_px) + 0.5) * transform.e
    cell_col = np.floor(cols / cell_size_m).astype(np.int64)
    cell_row = np.floor(rows / cell_size_m).astype(np.int64)
    cell_col -= cell_col.min()
    cell_row -= cell_row.min()
    n_cols = int(cell_col.max()) + 1
    cell = (cell_row[:, None] * n_cols + cell_col[None, :]).ravel()
    n_cells = int(cell.max()) + 1
    keep = np.asarray(valid, dtype=bool).ravel()
    ref = (np.asarray(reference) > 0).ravel() & keep
    pred = (np.asarray(predicted) > 0).ravel() & keep
    n_valid = np.bincount(cell, weights=keep, minlength=n_cells)
    n_ref = np.bincount(cell, weights=ref, minlength=n_cells)
    n_pred = np.bincount(cell, weights=pred, minlength=n_cells)
    nominal_px = cell_size_m * cell_size_m / grid.cell_area_m2
    scored = n_valid >= MIN_VALID_SHARE * nominal_px
    return CellFractions(
        reference=n_ref[scored] / n_valid[scored],
        predicted=n_pred[scored] / n_valid[scored],
        n_valid_px=n_valid[scored].astype(np.int64),
    )


@dataclass(frozen=True)
class GridScores:
    """Agreement of coarse-cell gap fractions.

    Attributes:
        cell_size_m: coarse cell edge.
        n_cells: cells scored.
        r2: coefficient of determination; None with < 2 cells or constant reference.
        rmse: root mean square error of the fraction (0..1); None without cells.
        bias: mean(predicted - reference); None without cells.
    """

    cell_size_m: float
    n_cells: int
    r2: float | None
    rmse: float | None
    bias: float | None


def grid_scores(
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray,
    grid: Grid,
) -> GridScores:
    """R2, RMSE and bias of the gap fractions on ``GRID_CELL_SIZE_M`` cells (``cell_fractions``)."""
    fractions = cell_fractions(reference, predicted, valid, grid)
    ref, pred = fractions.reference, fractions.predicted
    if ref.size == 0:
        return GridScores(GRID_CELL_SIZE_M, 0, None, None, None)
    error = pred - ref
    rmse = math.sqrt(float(np.mean(error**2)))
    bias = float(np.mean(error))
    total = float(np.sum((ref - ref.mean()) ** 2))
    r2 = 1.0 - float(np.sum(error**2)) / total if ref.size >= 2 and total > 0 else None
    return GridScores(GRID_CELL_SIZE_M, int(ref.size), r2, rmse, bias)

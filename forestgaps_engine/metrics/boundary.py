"""Boundary F1: how well gap outlines agree, within a tolerance of a few pixels.

A boundary pixel is a gap pixel with a non-gap 4-neighbour. Edges against nodata or the
raster border are not boundaries (the gap goes on where nobody can see), so neither
method is charged for outlines it could not observe. A predicted boundary pixel is
correct when a reference boundary pixel lies within ``tolerance_px`` (Euclidean
distance), and vice versa for recall. Empty denominators give 1.0, as pixel scores do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BOUNDARY_TOLERANCE_PX = 2.0
FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def gap_boundary(is_gap: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool inner boundary of a gap mask.

    Args:
        is_gap: (H, W) bool gap mask.
        valid: (H, W) bool; nodata cells count as gap while eroding, so gap edges
            against nodata are not boundaries.
    """
    gap = np.asarray(is_gap, dtype=bool)
    valid = np.ones_like(gap) if valid is None else np.asarray(valid, dtype=bool)
    gap = gap & valid
    eroded = ndimage.binary_erosion(gap | ~valid, structure=FOUR_CONNECTED, border_value=1)
    return gap & ~eroded


def _distance_to(boundary: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) of every cell to the nearest ``boundary`` pixel."""
    if not boundary.any():
        return np.full(boundary.shape, np.inf)
    return ndimage.distance_transform_edt(~boundary)


@dataclass(frozen=True)
class BoundaryScores:
    """Boundary pixel counts and scores at one tolerance."""

    tolerance_px: float
    n_predicted_px: int
    n_predicted_near_px: int
    n_reference_px: int
    n_reference_near_px: int

    @property
    def precision(self) -> float:
        """Share of predicted boundary pixels near a reference boundary."""
        if self.n_predicted_px == 0:
            return 1.0
        return self.n_predicted_near_px / self.n_predicted_px

    @property
    def recall(self) -> float:
        """Share of reference boundary pixels near a predicted boundary."""
        if self.n_reference_px == 0:
            return 1.0
        return self.n_reference_near_px / self.n_reference_px

    @property
    def f1(self) -> float:
        """Harmonic mean of boundary precision and recall."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def boundary_scores(
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray | None = None,
    tolerance_px: float = BOUNDARY_TOLERANCE_PX,
) -> BoundaryScores:
    """Boundary precision, recall and F1 of a predicted gap mask.

    Args:
        reference: (H, W) reference gap mask (bool, 0/1, or ids > 0).
        predicted: (H, W) predicted gap mask, same grid.
        valid: (H, W) bool cells to score.
        tolerance_px: largest distance, in pixels, at which boundaries still agree.
    """
    ref_edge = gap_boundary(np.asarray(reference) > 0, valid)
    pred_edge = gap_boundary(np.asarray(predicted) > 0, valid)
    return BoundaryScores(
        tolerance_px=float(tolerance_px),
        n_predicted_px=int(pred_edge.sum()),
        n_predicted_near_px=int((pred_edge & (_distance_to(ref_edge) <= tolerance_px)).sum()),
        n_reference_px=int(ref_edge.sum()),
        n_reference_near_px=int((ref_edge & (_distance_to(pred_edge) <= tolerance_px)).sum()),
    )

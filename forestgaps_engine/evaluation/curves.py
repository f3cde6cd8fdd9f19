"""Precision-recall curve of a gap probability raster against the reference mask.

Probabilities are binned once (``n_bins`` equal bins on [0, 1]) and the confusion counts
at every cut-off come from cumulative sums, so the curve costs two histograms however many
points it has; the scores themselves are ``metrics.ConfusionCounts``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forestgaps_engine.metrics.pixel import ConfusionCounts


@dataclass(frozen=True)
class PrecisionRecallCurve:
    """Points of the curve, by increasing cut-off (cut-offs selecting no pixel left out).

    Attributes:
        cutoffs: (n,) probability cut-offs; a pixel is gap when ``p >= cutoff``.
        counts: confusion counts at each cut-off.
    """

    cutoffs: tuple[float, ...]
    counts: tuple[ConfusionCounts, ...]

    @property
    def precision(self) -> list[float]:
        """Precision at each cut-off."""
        return [c.precision for c in self.counts]

    @property
    def recall(self) -> list[float]:
        """Recall at each cut-off."""
        return [c.recall for c in self.counts]

    @property
    def average_precision(self) -> float:
        """Step-wise area under the curve: sum of precision x recall increments."""
        recall = np.asarray(self.recall[::-1])
        precision = np.asarray(self.precision[::-1])
        steps = np.diff(np.concatenate([[0.0], recall]))
        return float(np.sum(steps * precision))


def precision_recall_curve(
    probability: np.ndarray,
    reference: np.ndarray,
    valid: np.ndarray,
    n_bins: int = 100,
) -> PrecisionRecallCurve:
    """Precision and recall of ``probability >= c`` for c = 0, 1/n_bins, ..., 1.

    Args:
        probability: (H, W) gap probability 0..1, NaN at nodata.
        reference: (H, W) reference gap mask (bool or ids > 0).
        valid: (H, W) bool cells to count (also where the probability is finite).
        n_bins: number of probability bins.
    """
    keep = np.asarray(valid, dtype=bool) & np.isfinite(probability)
    values = np.clip(np.asarray(probability, dtype=np.float64)[keep], 0.0, 1.0)
    is_gap = (np.asarray(reference) > 0)[keep]
    index = np.minimum((values * n_bins).astype(np.int64), n_bins)  # bin n holds p == 1
    gap_hist = np.bincount(index[is_gap], minlength=n_bins + 1)
    other_hist = np.bincount(index[~is_gap], minlength=n_bins + 1)
    # Pixels at or above cut-off k / n_bins are those in bins k..n_bins.
    tp = np.cumsum(gap_hist[::-1])[::-1]
    fp = np.cumsum(other_hist[::-1])[::-1]
    n_gap, n_other = int(gap_hist.sum()), int(other_hist.sum())
    # A cut-off that selects no pixel has no precision (1.0 by convention would draw a
    # false line to the corner), so it is left out of the curve.
    kept = [k for k in range(1, n_bins + 1) if tp[k] + fp[k] > 0]
    counts = tuple(
        ConfusionCounts(int(tp[k]), int(fp[k]), n_gap - int(tp[k]), n_other - int(fp[k]))
        for k in kept
    )
    return PrecisionRecallCurve(cutoffs=tuple(k / n_bins for k in kept), counts=counts)

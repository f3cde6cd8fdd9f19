"""Pixel metrics, written once: masked confusion counts and the scores derived from them.

Used by training (validation), evaluation and benchmarks alike. Inputs may be numpy arrays
or torch tensors (any device); counts come back as Python ints so they add up exactly
across batches, ranks and tiles. A score whose denominator is zero (nothing to find and
nothing found) is 1.0: the prediction agrees perfectly with an empty target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

METRIC_NAMES = ("iou", "f1", "precision", "recall", "accuracy")


def _ratio(numerator: int, denominator: int) -> float:
    return float(numerator) / float(denominator) if denominator > 0 else 1.0


@dataclass(frozen=True)
class ConfusionCounts:
    """Pixel counts over valid cells; positive = gap."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: ConfusionCounts) -> ConfusionCounts:
        return ConfusionCounts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def total(self) -> int:
        """Valid pixels counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def iou(self) -> float:
        """Intersection over union of the gap class."""
        return _ratio(self.tp, self.tp + self.fp + self.fn)

    @property
    def precision(self) -> float:
        """Share of predicted gap pixels that are gap."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """Share of gap pixels that were found."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (= Dice)."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float:
        """Share of valid pixels classified correctly."""
        return _ratio(self.tp + self.tn, self.total)

    def scores(self) -> dict[str, float]:
        """Every score in METRIC_NAMES."""
        return {name: getattr(self, name) for name in METRIC_NAMES}

    def to_dict(self) -> dict[str, int]:
        """The four counts by name."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}

    def as_list(self) -> list[int]:
        """[tp, fp, fn, tn], e.g. to all-reduce across ranks."""
        return [self.tp, self.fp, self.fn, self.tn]


def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch")


def confusion_counts(predicted: Any, target: Any, valid: Any | None = None) -> ConfusionCounts:
    """Count TP/FP/FN/TN where ``valid`` is true.

    Args:
        predicted: gap prediction, bool or 0/1, any shape (numpy or torch).
        target: gap truth, same shape (values > 0.5 are gap, so soft labels work).
        valid: cells to count, same shape; None counts every cell.

    Returns:
        The counts as Python ints.
    """
    is_torch = _is_torch(predicted)
    if is_torch:
        import torch

        count, keep = torch.count_nonzero, True if valid is None else valid.bool()
    else:
        predicted, target = np.asarray(predicted), np.asarray(target)
        count, keep = np.count_nonzero, True if valid is None else np.asarray(valid, dtype=bool)
    # > 0.5 keeps a bool mask as it is and cuts soft labels.
    pred, truth = predicted > 0.5, target > 0.5
    counts = [
        count(pred & truth & keep),
        count(pred & ~truth & keep),
        count(~pred & truth & keep),
        count(~pred & ~truth & keep),
    ]
    if is_torch:
        counts = torch.stack(counts).tolist()  # one device sync for the four counts
    return ConfusionCounts(*(int(v) for v in counts))


def confusion_counts_by_threshold(
    predicted: Any, target: Any, valid: Any, thresholds_m: Any
) -> dict[float, ConfusionCounts]:
    """Counts per height threshold for a batch whose samples carry their own threshold.

    Args:
        predicted: (B, ...) gap prediction (bool or 0/1).
        target: (B, ...) gap truth.
        valid: (B, ...) cells to count.
        thresholds_m: (B,) threshold of each sample, metres.

    Returns:
        Threshold (metres, rounded to 1e-3) -> counts over the samples with that threshold.
    """
    if not _is_torch(predicted):
        predicted, target, valid = np.asarray(predicted), np.asarray(target), np.asarray(valid)
    values = thresholds_m.tolist() if hasattr(thresholds_m, "tolist") else list(thresholds_m)
    rounded = [round(float(v), 3) for v in np.ravel(values)]
    result: dict[float, ConfusionCounts] = {}
    for threshold_m in sorted(set(rounded)):
        rows = [i for i, value in enumerate(rounded) if value == threshold_m]
        result[threshold_m] = confusion_counts(predicted[rows], target[rows], valid[rows])
    return result


def merge_counts(
    parts: Iterable[Mapping[float, ConfusionCounts]],
) -> dict[float, ConfusionCounts]:
    """Add per-threshold counts from several batches (or ranks)."""
    total: dict[float, ConfusionCounts] = {}
    for part in parts:
        for threshold_m, counts in part.items():
            total[threshold_m] = total.get(threshold_m, ConfusionCounts()) + counts
    return dict(sorted(total.items()))


def summarize(
    counts_by_threshold: Mapping[float, ConfusionCounts], prefix: str = ""
) -> dict[str, float]:
    """Flat metric dict: per threshold (``iou_t5``), pooled over thresholds (``iou``).

    The pooled scores sum the counts of every threshold (micro average); ``mean_iou`` is
    the unweighted mean of per-threshold IoU (macro average).
    """
    metrics: dict[str, float] = {}
    pooled = ConfusionCounts()
    for threshold_m, counts in sorted(counts_by_threshold.items()):
        pooled = pooled + counts
        for name, value in counts.scores().items():
            metrics[f"{prefix}{name}_t{threshold_m:g}"] = value
    for name, value in pooled.scores().items():
        metrics[f"{prefix}{name}"] = value
    if counts_by_threshold:
        ious = [c.iou for c in counts_by_threshold.values()]
        metrics[f"{prefix}mean_iou"] = float(sum(ious) / len(ious))
    return metrics

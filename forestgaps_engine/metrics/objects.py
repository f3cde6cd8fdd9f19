"""Object-level gap scores: one-to-one matching of gaps at IoU >= 0.5, overall and by size.

A reference gap and a predicted gap match when the IoU of their pixel sets is >= 0.5.
Above 0.5 a match is unique: a gap B with IoU(A, B) > 0.5 covers more than half of A, so
no second disjoint gap can. Exactly 0.5 admits ties (A split into two equal halves), so
pairs are taken greedily by decreasing IoU (then by ids), each gap used at most once;
with unique candidates this greedy pass is the optimal (Hungarian) assignment.

Recall by size class bins the *reference* gaps by their area, precision bins the
*predicted* gaps by theirs. A score whose denominator is zero (no gap in that class) is
None: unlike pixel scores, averaging a 1.0 for an empty class would flatter a method.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np
from scipy import ndimage

MATCH_IOU = 0.5
# Upper bounds (m2) of the size classes; the last class is open-ended.
SIZE_CLASS_EDGES_M2 = (50.0, 100.0, 500.0)
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def size_class_labels() -> list[str]:
    """Readable names of the classes: ``<50``, ``50-100``, ``100-500``, ``>=500`` (m2)."""
    edges_m2 = SIZE_CLASS_EDGES_M2
    between = [f"{low:g}-{high:g}" for low, high in pairwise(edges_m2)]
    return [f"<{edges_m2[0]:g}", *between, f">={edges_m2[-1]:g}"]


def as_objects(gaps: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Gap ids from a mask (8-connected patches) or pass ids through.

    Args:
        gaps: (H, W) bool/0-1 mask, or int ids (0 = no gap) such as ``label_gaps`` returns.
        valid: (H, W) bool; cells outside are never gap.

    Returns:
        (H, W) int32 ids, 0 = no gap.
    """
    array = np.asarray(gaps)
    if array.dtype == bool or (array.size and int(array.max(initial=0)) <= 1):
        is_gap = array.astype(bool)
        if valid is not None:
            is_gap &= np.asarray(valid, dtype=bool)
        ids, _ = ndimage.label(is_gap, structure=EIGHT_CONNECTED)
        return ids.astype(np.int32, copy=False)
    ids = array.astype(np.int32, copy=True)
    if valid is not None:
        ids[~np.asarray(valid, dtype=bool)] = 0
    return ids


@dataclass(frozen=True)
class ObjectMatch:
    """Result of matching reference and predicted gaps.

    Attributes:
        reference_area_m2: (n_ref,) area of reference gap i+1.
        predicted_area_m2: (n_pred,) area of predicted gap j+1.
        pairs: (n_matches, 2) int, 1-based (reference id, predicted id) of each match.
        pair_iou: (n_matches,) IoU of each match.
    """

    reference_area_m2: np.ndarray
    predicted_area_m2: np.ndarray
    pairs: np.ndarray
    pair_iou: np.ndarray

    @property
    def is_reference_matched(self) -> np.ndarray:
        """(n_ref,) bool."""
        return np.isin(np.arange(1, self.reference_area_m2.size + 1), self.pairs[:, 0])

    @property
    def is_predicted_matched(self) -> np.ndarray:
        """(n_pred,) bool."""
        return np.isin(np.arange(1, self.predicted_area_m2.size + 1), self.pairs[:, 1])


def _compact(ids: np.ndarray) -> np.ndarray:
    """Renumber ids to 1..n with no holes (ids of a cropped or masked raster may skip)."""
    present = np.unique(ids)
    present = present[present > 0]
    lookup = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.int32)
    lookup[present] = np.arange(1, present.size + 1, dtype=np.int32)
    return lookup[ids]


def match_objects(
    reference_ids: np.ndarray, predicted_ids: np.ndarray, cell_area_m2: float
) -> ObjectMatch:
    """Match gaps one to one where IoU >= ``MATCH_IOU`` (0.5 makes matches unique).

    Args:
        reference_ids: (H, W) int ids of the reference gaps, 0 = none.
        predicted_ids: (H, W) int ids of the predicted gaps, same grid.
        cell_area_m2: area of one cell.

    Returns:
        Areas of every gap and the matched pairs (ids renumbered 1..n in id order).
    """
    if reference_ids.shape != predicted_ids.shape:
        raise ValueError(f"shapes differ: {reference_ids.shape} vs {predicted_ids.shape}")
    reference = _compact(np.asarray(reference_ids))
    predicted = _compact(np.asarray(predicted_ids))
    n_ref, n_pred = int(reference.max(initial=0)), int(predicted.max(initial=0))
    ref_px = np.bincount(reference.ravel(), minlength=n_ref + 1)[1:]
    pred_px = np.bincount(predicted.ravel(), minlength=n_pred + 1)[1:]
    both = (reference > 0) & (predicted > 0)
    pair_codes = reference[both].astype(np.int64) * (n_pred + 1) + predicted[both]
    codes, overlap_px = np.unique(pair_codes, return_counts=True)
    ref_of, pred_of = codes // (n_pred + 1), codes % (n_pred + 1)
    union_px = ref_px[ref_of - 1] + pred_px[pred_of - 1] - overlap_px
    iou = overlap_px / np.maximum(union_px, 1)
    keep = iou >= MATCH_IOU
    ref_of, pred_of, iou = ref_of[keep], pred_of[keep], iou[keep]
    order = np.lexsort((pred_of, ref_of, -iou))
    used_ref = np.zeros(n_ref + 1, dtype=bool)
    used_pred = np.zeros(n_pred + 1, dtype=bool)
    pairs, pair_iou = [], []
    for index in order:
        r, p = int(ref_of[index]), int(pred_of[index])
        if used_ref[r] or used_pred[p]:
            continue
        used_ref[r] = used_pred[p] = True
        pairs.append((r, p))
        pair_iou.append(float(iou[index]))
    return ObjectMatch(
        reference_area_m2=ref_px * float(cell_area_m2),
        predicted_area_m2=pred_px * float(cell_area_m2),
        pairs=np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        pair_iou=np.asarray(pair_iou, dtype=np.float64),
    )


@dataclass(frozen=True)
class ObjectCounts:
    """Object counts of one size class (or of all gaps).

    Attributes:
        size_class: class label (``all`` for every gap).
        n_reference: reference gaps in the class (binned by reference area).
        n_reference_matched: of those, matched.
        n_predicted: predicted gaps in the class (binned by predicted area).
        n_predicted_matched: of those, matched.
    """

    size_class: str
    n_reference: int
    n_reference_matched: int
    n_predicted: int
    n_predicted_matched: int

    @property
    def precision(self) -> float | None:
        """Matched predicted gaps / predicted gaps; None without predicted gaps."""
        if self.n_predicted == 0:
            return None
        return self.n_predicted_matched / self.n_predicted

    @property
    def recall(self) -> float | None:
        """Matched reference gaps / reference gaps; None without reference gaps."""
        if self.n_reference == 0:
            return None
        return self.n_reference_matched / self.n_reference

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall; None when either is undefined."""
        precision, recall = self.precision, self.recall
        if precision is None or recall is None:
            return None
        return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)

    def to_dict(self) -> dict[str, object]:
        """Counts and scores by name."""
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass(frozen=True)
class ObjectScores:
    """Overall and per-size-class object scores."""

    overall: ObjectCounts
    by_size: tuple[ObjectCounts, ...]
    mean_matched_iou: float | None


def object_scores(
    reference: np.ndarray, predicted: np.ndarray, cell_area_m2: float
) -> ObjectScores:
    """Object precision, recall and F1, overall and by size class.

    Args:
        reference: (H, W) reference gap ids (or a mask, labelled 8-connected).
        predicted: (H, W) predicted gap ids or mask, same grid.
        cell_area_m2: area of one cell.

    Returns:
        The scores; by_size follows ``size_class_labels()``.
    """
    match = match_objects(as_objects(reference), as_objects(predicted), cell_area_m2)
    # right=False: a 50 m2 gap falls in 50-100, a 49 m2 gap in <50.
    ref_class = np.digitize(match.reference_area_m2, SIZE_CLASS_EDGES_M2, right=False)
    pred_class = np.digitize(match.predicted_area_m2, SIZE_CLASS_EDGES_M2, right=False)
    ref_hit, pred_hit = match.is_reference_matched, match.is_predicted_matched
    by_size = tuple(
        ObjectCounts(
            label,
            int(np.count_nonzero(ref_class == index)),
            int(np.count_nonzero(ref_hit & (ref_class == index))),
            int(np.count_nonzero(pred_class == index)),
            int(np.count_nonzero(pred_hit & (pred_class == index))),
        )
        for index, label in enumerate(size_class_labels())
    )
    overall = ObjectCounts(
        "all",
        int(ref_hit.size),
        int(ref_hit.sum()),
        int(pred_hit.size),
        int(pred_hit.sum()),
    )
    mean_iou = float(match.pair_iou.mean()) if match.pair_iou.size else None
    return ObjectScores(overall=overall, by_size=by_size, mean_matched_iou=mean_iou)

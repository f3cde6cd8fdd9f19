"""Where a method errs: pixel scores broken down by site, terrain slope and canopy height.

Slope comes from a ground surface: the DTM when one exists, else DSM - CHM; it is
smoothed over ``SLOPE_SMOOTHING_M`` so single crowns do not count as terrain. Canopy
height is the local maximum of the CHM over ``CANOPY_WINDOW_M``, smoothed: the height
of the stand a pixel sits in, which a gap pixel itself does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import ndimage

from forestgaps_engine.evaluation.baselines import nan_gaussian
from forestgaps_engine.metrics.pixel import ConfusionCounts, confusion_counts

SLOPE_EDGES_DEG = (10.0, 20.0, 30.0)
CANOPY_EDGES_M = (10.0, 20.0, 30.0)
SLOPE_SMOOTHING_M = 10.0
CANOPY_WINDOW_M = 20.0
CANOPY_SMOOTHING_M = 10.0


def class_labels(edges: Sequence[float], unit: str) -> tuple[str, ...]:
    """``0-10deg``, ``10-20deg``, ..., ``>=30deg`` for edges (10, 20, 30)."""
    labels = [f"{low:g}-{high:g}{unit}" for low, high in pairwise([0.0, *edges])]
    return (*labels, f">={edges[-1]:g}{unit}")


def slope_deg(elevation_m: np.ndarray, resolution_m: float) -> np.ndarray:
    """(H, W) terrain slope in degrees, NaN where the elevation is NaN.

    Args:
        elevation_m: (H, W) ground elevation, metres, NaN at nodata.
        resolution_m: square cell size, metres.
    """
    surface = np.asarray(elevation_m, dtype=np.float64)
    surface = nan_gaussian(surface, SLOPE_SMOOTHING_M / resolution_m)
    d_row, d_col = np.gradient(surface, resolution_m)
    return np.degrees(np.arctan(np.hypot(d_row, d_col)))


def local_canopy_height_m(chm_m: np.ndarray, resolution_m: float) -> np.ndarray:
    """(H, W) stand height: local maximum of the CHM, smoothed; NaN where the CHM is."""
    finite = np.isfinite(chm_m)
    size_px = max(1, 2 * int(round(CANOPY_WINDOW_M / resolution_m / 2.0)) + 1)
    top = ndimage.maximum_filter(np.where(finite, chm_m, -np.inf), size=size_px, mode="nearest")
    return nan_gaussian(np.where(finite, top, np.nan), CANOPY_SMOOTHING_M / resolution_m)


@dataclass(frozen=True)
class Strata:
    """A breakdown of the pixels into classes.

    Attributes:
        factor: what is broken down (``site``, ``slope``, ``canopy_height``).
        index: (H, W) int class of each pixel, -1 = unclassed.
        labels: name of each class.
    """

    factor: str
    index: np.ndarray
    labels: tuple[str, ...]


def binned_strata(factor: str, values: np.ndarray, edges: Sequence[float], unit: str) -> Strata:
    """Strata from a continuous raster and class edges (NaN = unclassed)."""
    index = np.digitize(np.nan_to_num(values, nan=0.0), np.asarray(edges), right=False)
    index = np.where(np.isfinite(values), index, -1)
    return Strata(factor, index, class_labels(edges, unit))


def site_strata(shape: tuple[int, int], site: str) -> Strata:
    """One class holding every pixel: the site's own row in the bias table."""
    return Strata("site", np.zeros(shape, dtype=np.int64), (site,))


@dataclass(frozen=True)
class BiasRow:
    """Scores of one class of one factor."""

    factor: str
    stratum: str
    counts: ConfusionCounts

    @property
    def reference_gap_fraction(self) -> float | None:
        """Share of the class's valid pixels that are reference gap."""
        total = self.counts.total
        return (self.counts.tp + self.counts.fn) / total if total else None

    @property
    def predicted_gap_fraction(self) -> float | None:
        """Share of the class's valid pixels that are predicted gap."""
        total = self.counts.total
        return (self.counts.tp + self.counts.fp) / total if total else None

    def to_dict(self) -> dict[str, object]:
        """Counts, scores and the gap-fraction bias (predicted - reference)."""
        ref, pred = self.reference_gap_fraction, self.predicted_gap_fraction
        return {
            "factor": self.factor,
            "stratum": self.stratum,
            "n_valid_px": self.counts.total,
            **self.counts.scores(),
            "reference_gap_fraction": ref,
            "predicted_gap_fraction": pred,
            "gap_fraction_bias": None if ref is None or pred is None else pred - ref,
        }


def bias_rows(
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray,
    strata: Sequence[Strata],
) -> list[BiasRow]:
    """Pixel confusion counts per class of every factor (empty classes left out).

    Args:
        reference: (H, W) reference gap mask (bool or ids > 0).
        predicted: (H, W) predicted gap mask.
        valid: (H, W) bool cells to count.
        strata: the breakdowns, each on the same grid.
    """
    ref = np.asarray(reference) > 0
    pred = np.asarray(predicted) > 0
    rows = []
    for stratum in strata:
        for class_index, label in enumerate(stratum.labels):
            keep = valid & (stratum.index == class_index)
            if keep.any():
                rows.append(BiasRow(stratum.factor, label, confusion_counts(pred, ref, keep)))
    return rows

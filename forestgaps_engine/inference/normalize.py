"""NumPy twin of ``models.normalization.Normalizer`` for inference (no torch needed).

The torch module sorts every window to find its low reference height; here a partial
selection (``np.partition``, linear time) picks the same order statistic, so outputs match
the module's to float32 rounding while costing a fraction of it. The rule lives in one
place (the torch module's docstring); this file only re-expresses it for NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from forestgaps_engine.errors import ModelError

# Same constants as models.normalization / models.reference (imported there with torch).
TILE_REFERENCE_PERCENT = 2
EPS = np.float32(1e-6)
STRATEGIES = ("minmax_tile", "zscore_global", "robust_percentile")


def tile_reference_np(values: np.ndarray, valid: np.ndarray, percent: int) -> np.ndarray:
    """(B,) low reference height of each window: the ``percent``-th sorted valid value.

    Args:
        values: (B, 1, H, W) float32 heights, metres.
        valid: (B, 1, H, W) bool.
        percent: rank among the sorted valid cells, percent.

    Returns:
        (B,) float32; 0 for a window without valid cells.
    """
    batch = values.shape[0]
    flat_values = values.reshape(batch, -1)
    flat_valid = valid.reshape(batch, -1)
    references = np.zeros(batch, dtype=np.float32)
    for index in range(batch):
        window_valid = flat_valid[index]
        n_valid = int(window_valid.sum())
        if n_valid == 0:
            continue
        cells = (
            flat_values[index] if n_valid == window_valid.size else flat_values[index][window_valid]
        )
        rank = ((n_valid - 1) * percent) // 100
        references[index] = np.partition(cells, rank)[rank]
    return references


@dataclass(frozen=True)
class NumpyNormalizer:
    """Normalizes (B, 1, H, W) windows of raw metres like ``Normalizer.forward``.

    Attributes:
        strategy: one of ``STRATEGIES``.
        mean_m: global mean (zscore_global), metres.
        std_m: global standard deviation (zscore_global), metres.
        relief_range_m: global relief range (robust_percentile), metres.
    """

    strategy: str = "robust_percentile"
    mean_m: float = 0.0
    std_m: float = 1.0
    relief_range_m: float = 1.0

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> NumpyNormalizer:
        """Build from a model card's ``normalizer`` entry (``Normalizer.to_dict()``).

        Raises:
            ModelError: unknown strategy.
        """
        strategy = payload.get("strategy", "robust_percentile")
        if strategy not in STRATEGIES:
            raise ModelError(
                f"normalization strategy {strategy!r} in the model card is unknown",
                hint=f"The card must name one of {', '.join(STRATEGIES)}; re-save the model.",
            )
        stats = payload.get("stats", {})
        return cls(
            strategy=strategy,
            mean_m=float(stats.get("mean_m", 0.0)),
            std_m=float(stats.get("std_m", 1.0)),
            relief_range_m=float(stats.get("relief_range_m", 1.0)),
        )

    def __call__(self, values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Normalized windows.

        Args:
            values: (B, 1, H, W) float32 metres, NaN allowed.
            valid: optional (B, 1, H, W) bool; non-finite cells are invalid anyway.

        Returns:
            (B, 1, H, W) float32, 0 at invalid cells.
        """
        heights, is_valid = _valid_heights(values, valid)
        return _scaled(heights, is_valid, *self._frame(heights, is_valid))

    def frame(self, values: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """(offset (B, 1, 1, 1) metres, metres per unit) that ``__call__`` applies to ``values``.

        The terrain prior is put in the same frame, so ``dsm - prior`` keeps its metres.
        """
        return self._frame(*_valid_heights(values, valid))

    def _frame(self, heights: np.ndarray, is_valid: np.ndarray) -> tuple[np.ndarray, float]:
        """``frame`` of heights already zeroed outside ``is_valid``."""
        if self.strategy == "minmax_tile":
            low = np.where(is_valid, heights, np.float32(np.inf)).min(axis=(2, 3), keepdims=True)
            high = np.where(is_valid, heights, np.float32(-np.inf)).max(axis=(2, 3), keepdims=True)
            return low, np.maximum(high - low, EPS)
        if self.strategy == "zscore_global":
            offset = np.full((heights.shape[0], 1, 1, 1), np.float32(self.mean_m))
            return offset, max(np.float32(self.std_m), EPS)
        reference = tile_reference_np(heights, is_valid, TILE_REFERENCE_PERCENT)
        return reference[:, None, None, None], max(np.float32(self.relief_range_m), EPS)

    def with_prior(
        self, values: np.ndarray, valid: np.ndarray | None, prior_m: np.ndarray
    ) -> np.ndarray:
        """(B, 2, H, W): the normalized DSM, then the terrain prior in the DSM's frame.

        Args:
            values: (B, 1, H, W) DSM metres, NaN allowed.
            valid: optional (B, 1, H, W) bool.
            prior_m: (B, 1, H, W) coarse terrain heights on the same cells, metres (finite).
        """
        heights, is_valid = _valid_heights(values, valid)
        offset, scale = self._frame(heights, is_valid)
        prior = (np.asarray(prior_m, dtype=np.float32) - offset) / scale
        dsm = _scaled(heights, is_valid, offset, scale)
        return np.concatenate([dsm, prior.astype(np.float32, copy=False)], axis=1)


def _valid_heights(
    values: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(heights float32 with 0 at invalid cells, validity): non-finite cells are invalid."""
    values = np.asarray(values, dtype=np.float32)
    is_valid = np.isfinite(values)
    if valid is not None:
        is_valid &= np.asarray(valid, dtype=bool)
    return np.where(is_valid, values, np.float32(0.0)), is_valid


def _scaled(
    heights: np.ndarray, is_valid: np.ndarray, offset: np.ndarray, scale: np.ndarray | float
) -> np.ndarray:
    """``(heights - offset) / scale`` as float32, 0 at invalid cells."""
    out = ((heights - offset) / scale).astype(np.float32, copy=False)
    out[~is_valid] = 0.0
    return out

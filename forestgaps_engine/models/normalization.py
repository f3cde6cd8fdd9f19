"""DSM normalization as a small, exportable ``nn.Module`` applied on the device with the model.

Datasets return raw metres; the model's first step is this module, so the same code runs in
training, in ONNX/TorchScript exports and in the plugin, and its statistics travel with the
weights (buffers in ``state_dict``, plus ``to_dict`` for the model card).

Strategies:
- ``robust_percentile`` (default): per tile, subtract a low reference height (the 2nd
  percentile of the tile's valid cells) and divide by a GLOBAL robust range (the 98th
  percentile of those tile-relative heights over the training tiles). A DSM holds absolute
  altitudes (hundreds of metres, differing by site), which say nothing about gaps; removing
  the tile's own floor lets a model ignore altitude. Dividing by one global range keeps a
  fixed number of metres per unit, so a gap threshold in metres means the same normalized
  height on every tile - which per-tile min-max scaling would destroy.
- ``minmax_tile``: per tile, (h - min) / (max - min) on valid cells. Scale-free: the threshold
  loses its metric meaning; kept for comparison.
- ``zscore_global``: (h - mean) / std with the training set's global statistics. Keeps
  altitude, so it only suits sites at similar altitudes.

Invalid cells (``valid`` false or non-finite DSM) come out as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from forestgaps_engine.errors import ConfigError
from forestgaps_engine.models.reference import TILE_REFERENCE_PERCENT

STRATEGIES = ("minmax_tile", "zscore_global", "robust_percentile")
_REQUIRED_STATS = {
    "minmax_tile": (),
    "zscore_global": ("mean_m", "std_m"),
    "robust_percentile": ("relief_range_m",),
}


def tile_reference(dsm: Tensor, valid: Tensor, percent: int = TILE_REFERENCE_PERCENT) -> Tensor:
    """Per-tile low reference height (same rule as ``statistics.tile_reference_m``).

    Args:
        dsm: (B, 1, H, W) heights, metres (any value at invalid cells).
        valid: (B, 1, H, W) bool.
        percent: rank of the reference among the sorted valid cells, in percent.

    Returns:
        (B, 1, 1, 1) reference heights; 0 for a tile without valid cells.
    """
    batch = dsm.shape[0]
    flat = torch.where(valid, dsm, torch.full_like(dsm, float("inf"))).reshape(batch, -1)
    ordered, _ = torch.sort(flat, dim=1)
    n_valid = valid.reshape(batch, -1).to(torch.int64).sum(dim=1, keepdim=True)
    index = torch.clamp(((n_valid - 1) * percent) // 100, min=0)
    reference = ordered.gather(1, index)
    reference = torch.where(n_valid > 0, reference, torch.zeros_like(reference))
    return reference.reshape(batch, 1, 1, 1)


class Normalizer(nn.Module):
    """Normalizes raw DSM tiles; statistics are buffers so ``state_dict()`` round-trips.

    Args:
        strategy: one of ``STRATEGIES``.
        stats: ``mean_m`` and ``std_m`` (zscore_global) or ``relief_range_m``
            (robust_percentile), metres; other keys are ignored. None builds placeholders
            for ``load_state_dict``.

    Shape:
        dsm: (B, 1, H, W) float32 metres, NaN allowed at invalid cells.
        valid: optional (B, 1, H, W) bool or 0/1 float; cells that are not finite are
        invalid in any case.
        output: (B, 1, H, W) float32, 0 at invalid cells.
    """

    def __init__(
        self, strategy: str = "robust_percentile", stats: Mapping[str, float] | None = None
    ) -> None:
        super().__init__()
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"normalization strategy {strategy!r} is unknown",
                hint=f"Use one of {', '.join(STRATEGIES)}.",
            )
        # stats=None: placeholders, to be filled by load_state_dict().
        missing = [
            name for name in _REQUIRED_STATS[strategy] if stats is not None and name not in stats
        ]
        stats = dict(stats or {})
        if missing:
            raise ConfigError(
                f"normalization {strategy!r} needs statistics {', '.join(missing)}",
                hint="Use the normalization.json written by 'forestgaps prepare'.",
            )
        self.strategy = strategy
        self.register_buffer("mean_m", torch.tensor(float(stats.get("mean_m", 0.0))))
        self.register_buffer("std_m", torch.tensor(float(stats.get("std_m", 1.0))))
        self.register_buffer(
            "relief_range_m", torch.tensor(float(stats.get("relief_range_m", 1.0)))
        )
        self.register_buffer("eps", torch.tensor(1e-6))

    def forward(self, dsm: Tensor, valid: Tensor | None = None) -> Tensor:
        """Normalize ``dsm``; see the class docstring for shapes."""
        heights, is_valid = _valid_heights(dsm, valid)
        offset, scale = self._frame(heights, is_valid)
        return torch.where(is_valid, (heights - offset) / scale, torch.zeros_like(heights))

    def frame(self, dsm: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(offset (B, 1, 1, 1) metres, metres per unit) that ``forward`` applies to ``dsm``."""
        return self._frame(*_valid_heights(dsm, valid))

    def _frame(self, heights: Tensor, is_valid: Tensor) -> tuple[Tensor, Tensor]:
        """``frame`` of heights already zeroed outside ``is_valid``."""
        if self.strategy == "minmax_tile":
            low = torch.where(is_valid, heights, torch.full_like(heights, float("inf")))
            high = torch.where(is_valid, heights, torch.full_like(heights, float("-inf")))
            low = low.amin(dim=(2, 3), keepdim=True)
            return low, torch.clamp(high.amax(dim=(2, 3), keepdim=True) - low, min=self.eps)
        if self.strategy == "zscore_global":
            offset = self.mean_m.expand(heights.shape[0], 1, 1, 1)
            return offset, torch.clamp(self.std_m, min=self.eps)
        reference = tile_reference(heights, is_valid)
        return reference, torch.clamp(self.relief_range_m, min=self.eps)

    def with_prior(self, dsm: Tensor, valid: Tensor | None, prior_m: Tensor) -> Tensor:
        """(B, 2, H, W): the normalized DSM, then the terrain prior in the DSM's frame.

        The prior gets the DSM tile's own offset and scale, so ``dsm - prior`` keeps its
        metres (a per-tile offset of its own would shift it by the prior's floor).

        Args:
            dsm: (B, 1, H, W) metres.
            valid: optional (B, 1, H, W) bool, True where ``dsm`` holds data.
            prior_m: (B, 1, H, W) coarse terrain on the same cells, metres (finite).
        """
        heights, is_valid = _valid_heights(dsm, valid)
        offset, scale = self._frame(heights, is_valid)
        normalized = torch.where(is_valid, (heights - offset) / scale, torch.zeros_like(heights))
        return torch.cat([normalized, (prior_m - offset) / scale], dim=1)

    def to_dict(self) -> dict[str, Any]:
        """Strategy and statistics as plain JSON values (for the model card)."""
        return {
            "strategy": self.strategy,
            "stats": {
                "mean_m": float(self.mean_m),
                "std_m": float(self.std_m),
                "relief_range_m": float(self.relief_range_m),
            },
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Normalizer:
        """Inverse of ``to_dict``."""
        return cls(payload["strategy"], payload.get("stats", {}))

    @classmethod
    def from_prepared(cls, normalization: Mapping[str, Any]) -> Normalizer:
        """Build from the content of a prepared dataset's ``normalization.json``."""
        return cls(normalization["strategy"], normalization["normalizer_stats"])


def _valid_heights(dsm: Tensor, valid: Tensor | None) -> tuple[Tensor, Tensor]:
    """(heights with 0 at invalid cells, validity): non-finite cells are invalid."""
    is_valid = torch.isfinite(dsm)
    if valid is not None:
        is_valid = is_valid & (valid > 0.5)
    return torch.where(is_valid, dsm, torch.zeros_like(dsm)), is_valid

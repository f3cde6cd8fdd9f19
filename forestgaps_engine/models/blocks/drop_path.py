"""Stochastic depth: drop a residual branch per sample during training."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def drop_path_rates(max_rate: float, count: int) -> list[float]:
    """Linear schedule from 0 (first block) to ``max_rate`` (last block).

    Deeper blocks are dropped more often, as in Huang et al. 2016.
    """
    if count <= 1:
        return [max_rate] * count
    return [max_rate * index / (count - 1) for index in range(count)]


class DropPath(nn.Module):
    """Zero a residual branch for a random subset of samples, rescaling the rest.

    Identity in eval mode or when ``rate == 0``.

    Shape:
        x: ``(B, ...)``. Returns the same shape.
    """

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"drop path rate must be in [0, 1), got {rate}")
        self.rate = rate

    def forward(self, x: Tensor) -> Tensor:
        """Drop whole samples' residual branches with probability ``rate`` in training."""
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        """The drop rate, for the module's repr."""
        return f"rate={self.rate}"

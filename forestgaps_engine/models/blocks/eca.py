"""ECA (Wang et al. 2020): channel attention by a 1-D convolution across channels."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def eca_kernel_size(channels: int, gamma: float = 2.0, b: float = 1.0) -> int:
    """Odd kernel size ``|log2(C) / gamma + b / gamma|`` from the ECA paper."""
    size = int(abs(math.log2(channels) / gamma + b / gamma))
    return size if size % 2 else size + 1


class ECA(nn.Module):
    """Efficient channel attention: no dimensionality reduction, ``k`` neighbouring channels.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, kernel_size: int | None = None) -> None:
        super().__init__()
        size = kernel_size or eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, size, padding=size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Scale each channel by its ECA weight; shape unchanged."""
        descriptor = x.mean(dim=(2, 3))  # (B, C)
        weights = self.conv(descriptor.unsqueeze(1)).squeeze(1)
        return x * torch.sigmoid(weights)[:, :, None, None]

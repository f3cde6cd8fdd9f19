"""ECA (Wang et al. 2020): channel attention by a 1-D convolution across channels."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class ECA(nn.Module):
    """Efficient channel attention: no dimensionality reduction, ``k`` neighbouring channels.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        # The paper's kernel size |log2(C) / gamma + b / gamma| with gamma = 2, b = 1, made odd.
        size = int(abs(math.log2(channels) / 2.0 + 0.5))
        size = size if size % 2 else size + 1
        self.conv = nn.Conv1d(1, 1, size, padding=size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """Scale each channel by its ECA weight; shape unchanged."""
        descriptor = x.mean(dim=(2, 3))  # (B, C)
        weights = self.conv(descriptor.unsqueeze(1)).squeeze(1)
        return x * torch.sigmoid(weights)[:, :, None, None]

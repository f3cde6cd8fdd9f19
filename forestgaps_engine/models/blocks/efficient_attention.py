"""Efficient attention (Shen et al. 2021): global self-attention in O(N) for the bottleneck.

Keys are normalised over positions and queries over channels, so the ``(C x C)`` context
``K^T V`` replaces the ``(N x N)`` attention map: memory stays linear in the pixel count,
which lets the bottleneck of a 512 px tile attend to the whole tile.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class EfficientAttention(nn.Module):
    """Multi-head efficient self-attention with a residual connection.

    Args:
        channels: input and output channels.
        heads: number of heads; ``channels`` must be divisible by it.
        key_channels: total query/key channels (default ``channels // 2``, rounded to heads).

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, heads: int = 4, key_channels: int | None = None) -> None:
        super().__init__()
        heads = max(1, min(heads, channels))
        while channels % heads:
            heads -= 1
        key_total = key_channels or max(channels // 2, heads)
        key_total = max(heads, key_total - key_total % heads)
        self.heads = heads
        self.key_channels = key_total
        self.norm = nn.GroupNorm(1, channels)
        self.query = nn.Conv2d(channels, key_total, 1)
        self.key = nn.Conv2d(channels, key_total, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.output = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Add linear-cost global attention to ``x``; shape unchanged."""
        batch, channels, height, width = x.shape
        normed = self.norm(x)
        heads = self.heads
        query = self.query(normed).reshape(batch * heads, self.key_channels // heads, -1)
        key = self.key(normed).reshape(batch * heads, self.key_channels // heads, -1)
        value = self.value(normed).reshape(batch * heads, channels // heads, -1)
        query = torch.softmax(query, dim=1)
        key = torch.softmax(key, dim=2)
        context = torch.bmm(key, value.transpose(1, 2))  # (B*heads, Ck, Cv)
        attended = torch.bmm(context.transpose(1, 2), query)  # (B*heads, Cv, N)
        attended = attended.reshape(batch, channels, height, width)
        return x + self.output(attended)

"""CBAM (Woo et al. 2018): channel attention, then spatial attention.

Global pooling is written as ``mean``/``amax`` over the spatial axes so it exports to ONNX
for any input size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelAttention(nn.Module):
    """Channel gate from average- and max-pooled descriptors through a shared MLP.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        # SiLU, not the paper's ReLU: the pooled descriptors are non-negative and with a
        # few hidden units a ReLU MLP can start (and stay) entirely dead
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.SiLU(),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Scale each channel by its attention weight; shape unchanged."""
        average = self.mlp(x.mean(dim=(2, 3), keepdim=True))
        maximum = self.mlp(x.amax(dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(average + maximum)


class SpatialAttention(nn.Module):
    """Spatial gate from channel-wise mean and max through a ``k x k`` convolution.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        """Scale each pixel by its spatial attention weight; shape unchanged."""
        descriptor = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(descriptor))


class CBAM(nn.Module):
    """Channel attention followed by spatial attention.

    Args:
        channels: feature channels.
        reduction: channel MLP reduction ratio.
        kernel_size: spatial attention kernel (odd).

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        """Channel then spatial attention; shape unchanged."""
        return self.spatial(self.channel(x))

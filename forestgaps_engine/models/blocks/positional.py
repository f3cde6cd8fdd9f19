"""Optional positional input channels: tile coordinates, raw or as Fourier features.

Coordinates are tile-relative (-1 at the first pixel centre, +1 at the last), so they tell
a model where a pixel sits in its tile, e.g. to learn that tile borders lack context. They
are computed from the input's shape, which keeps the model exportable for any H, W.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

PositionalName = Literal["none", "coords", "fourier"]


class PositionalChannels(nn.Module):
    """Build positional channels for a ``(B, C, H, W)`` input.

    Args:
        kind: ``"none"`` (0 channels), ``"coords"`` (y, x: 2 channels) or ``"fourier"``
            (sin/cos of y and x at ``num_frequencies`` octaves: ``4 * num_frequencies``).
        num_frequencies: octaves for ``"fourier"``.

    Shape:
        x: ``(B, C, H, W)``. Returns ``(B, channels, H, W)``.
    """

    def __init__(self, kind: str = "none", num_frequencies: int = 4) -> None:
        super().__init__()
        self.kind = kind
        self.num_frequencies = num_frequencies
        channels = {"none": 0, "coords": 2, "fourier": 4 * num_frequencies}
        if kind not in channels:
            raise ValueError(f"unknown positional encoding {kind!r}")
        self.channels = channels[kind]

    def forward(self, x: Tensor) -> Tensor:
        """Add the 2-D positional encoding to ``x``; shape unchanged."""
        height, width = x.shape[-2], x.shape[-1]
        # arange over the (possibly traced) size keeps H and W dynamic in ONNX
        ys = (torch.arange(height, device=x.device, dtype=x.dtype) + 0.5) / height * 2 - 1
        xs = (torch.arange(width, device=x.device, dtype=x.dtype) + 0.5) / width * 2 - 1
        grid_y = ys.reshape(1, 1, -1, 1).expand(x.shape[0], 1, -1, xs.shape[0])
        grid_x = xs.reshape(1, 1, 1, -1).expand(x.shape[0], 1, ys.shape[0], -1)
        coords = torch.cat([grid_y, grid_x], dim=1)
        if self.kind == "coords":
            return coords
        octaves = [coords * (math.pi * 2.0**k) for k in range(self.num_frequencies)]
        angles = torch.cat(octaves, dim=1)
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)

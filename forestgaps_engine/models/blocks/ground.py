"""A DSM-only ground estimate inside the network: grey opening, smoothing, relief.

The same rule as the DSM-only baseline (``evaluation/baselines.estimate_ground_m``): an
opening (erosion then dilation with a flat square window) wider than a crown runs along
gap floors and the ground between them; a box smoothing removes the window's steps.
Written with max/average pools so it exports to ONNX and OpenVINO like any other layer.
A square window is separable, so each pass is a (1, k) then a (k, 1) pool: 2k compares
per cell instead of k².
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import Tensor, nn


def _max_square(x: Tensor, size_px: int) -> Tensor:
    half = size_px // 2
    # max_pool2d pads with -inf: windows cut by the edge use only the cells they hold.
    x = F.max_pool2d(x, (1, size_px), stride=1, padding=(0, half))
    return F.max_pool2d(x, (size_px, 1), stride=1, padding=(half, 0))


def _mean_square(x: Tensor, size_px: int) -> Tensor:
    half = size_px // 2
    x = F.avg_pool2d(x, (1, size_px), stride=1, padding=(0, half), count_include_pad=False)
    return F.avg_pool2d(x, (size_px, 1), stride=1, padding=(half, 0), count_include_pad=False)


class OpeningRelief(nn.Module):
    """Height above a grey-opening ground, in the input's units (never negative).

    Args:
        window_px: side of the square opening window, cells (odd).
        smoothing_px: side of the box filter applied to the opened surface (odd; 1 = none).

    Shape:
        surface: ``(B, 1, H, W)``. Returns ``(B, 1, H, W)``.
    """

    def __init__(self, window_px: int, smoothing_px: int) -> None:
        super().__init__()
        if window_px < 1 or window_px % 2 == 0 or smoothing_px < 1 or smoothing_px % 2 == 0:
            raise ValueError(
                f"window_px and smoothing_px must be odd and >= 1, got {window_px}, {smoothing_px}"
            )
        self.window_px = window_px
        self.smoothing_px = smoothing_px

    def forward(self, surface: Tensor) -> Tensor:
        """Ground estimate: grey opening of ``surface`` (B, 1, H, W) over the window, metres."""
        eroded = -_max_square(-surface, self.window_px)
        opened = _max_square(eroded, self.window_px)
        if self.smoothing_px > 1:
            opened = _mean_square(opened, self.smoothing_px)
        return surface - torch.minimum(opened, surface)

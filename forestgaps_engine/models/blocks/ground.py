"""A DSM-only ground estimate inside the network: grey opening, smoothing, relief.

The same rule as the DSM-only baseline (``evaluation/baselines.estimate_ground_m``): an
opening (erosion then dilation with a flat square window) wider than a crown runs along
gap floors and the ground between them; a box smoothing removes the window's steps.
Written with max/average pools so it exports to ONNX and OpenVINO like any other layer.
A square window is separable, so each pass is a (1, k) then a (k, 1) pool: 2k compares
per cell instead of k².

``OpeningRelief`` counts its window in cells of whatever grid it is given; ``MetricRelief``
sizes window and smoothing in metres from the cell size of the tiles it is given, so it is
the baseline's rule (40 m window, 4 m Gaussian with edges held, as ``scipy.ndimage``'s
``mode="nearest"``) on every grid. Pool and convolution sizes must be plain integers, so a
batch mixing cell sizes is computed one cell size at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def odd_cells(length_m: float, cell_size_m: float) -> int:
    """Odd number of cells closest to ``length_m`` (at least 1): a window centred on a cell."""
    return max(1, 2 * int(round(length_m / cell_size_m / 2.0)) + 1)


def gaussian_taps(sigma_px: float) -> Tensor:
    """Normalised 1-D Gaussian weights, truncated at 4 sigma as ``scipy.ndimage`` does."""
    radius = int(4.0 * sigma_px + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (offsets / sigma_px) ** 2)
    return (weights / weights.sum()).to(torch.float32)


def _gaussian_edge_held(x: Tensor, sigma_px: float) -> Tensor:
    taps = gaussian_taps(sigma_px).to(device=x.device, dtype=x.dtype)
    radius = taps.numel() // 2
    # Replicated edges: the smoothing of scipy's mode="nearest", which the baseline uses.
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), taps.reshape(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), taps.reshape(1, 1, -1, 1))


class MetricRelief(nn.Module):
    """Height above a grey-opening ground whose window and smoothing are metres.

    Args:
        window_m: side of the square opening window, metres.
        smoothing_m: Gaussian sigma of the opened surface, metres (0 = none).

    Shape:
        surface: ``(B, 1, H, W)``; cell_sizes_m: one cell size per tile, metres.
        Returns ``(B, 1, H, W)`` in the surface's units (never negative).
    """

    def __init__(self, window_m: float, smoothing_m: float) -> None:
        super().__init__()
        if not window_m > 0 or smoothing_m < 0:
            raise ValueError(
                f"window_m must be > 0 and smoothing_m >= 0, got {window_m}, {smoothing_m}"
            )
        self.window_m = float(window_m)
        self.smoothing_m = float(smoothing_m)

    def relief_at(self, surface: Tensor, cell_size_m: float) -> Tensor:
        """Relief of tiles that all have cells of ``cell_size_m`` metres."""
        window_px = odd_cells(self.window_m, cell_size_m)
        eroded = -_max_square(-surface, window_px)
        opened = _max_square(eroded, window_px)
        if self.smoothing_m > 0:
            opened = _gaussian_edge_held(opened, self.smoothing_m / cell_size_m)
        return surface - torch.minimum(opened, surface)

    def forward(self, surface: Tensor, cell_sizes_m: Sequence[float]) -> Tensor:
        """Relief of each tile of ``surface`` at its own cell size."""
        sizes = [float(size) for size in cell_sizes_m]
        if len(sizes) == 1 or len(set(sizes)) == 1:
            return self.relief_at(surface, sizes[0])
        if len(sizes) != surface.shape[0]:
            raise ValueError(f"{len(sizes)} cell sizes for {surface.shape[0]} tiles")
        relief = torch.empty_like(surface)
        for size in sorted(set(sizes)):
            rows = [index for index, value in enumerate(sizes) if math.isclose(value, size)]
            relief[rows] = self.relief_at(surface[rows], size)
        return relief

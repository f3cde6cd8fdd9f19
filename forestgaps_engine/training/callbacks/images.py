"""Image grids for monitoring: DSM | target | prediction | error, one row per sample."""

from __future__ import annotations

import torch

# Error colours: true positive green, false positive red, false negative blue, invalid grey.
TP_RGB = (0.1, 0.8, 0.1)
FP_RGB = (0.9, 0.1, 0.1)
FN_RGB = (0.1, 0.3, 0.95)
INVALID_RGB = (0.35, 0.35, 0.35)


def _stretch(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-image min-max to [0, 1] over valid cells; invalid cells 0."""
    low = torch.where(valid, values, float("inf")).amin(dim=(1, 2, 3), keepdim=True)
    high = torch.where(valid, values, float("-inf")).amax(dim=(1, 2, 3), keepdim=True)
    stretched = ((values - low) / (high - low).clamp_min(1e-6)).clamp(0, 1)
    return torch.where(valid, stretched, 0.0)


def _gray(values: torch.Tensor) -> torch.Tensor:
    return values.expand(-1, 3, -1, -1)


def error_map(predicted: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB: TP green, FP red, FN blue, TN black, invalid grey."""
    image = torch.zeros(predicted.shape[0], 3, *predicted.shape[-2:], device=predicted.device)
    cases = [
        (predicted & target & valid, TP_RGB),
        (predicted & ~target & valid, FP_RGB),
        (~predicted & target & valid, FN_RGB),
        (~valid, INVALID_RGB),
    ]
    for where, rgb in cases:
        colour = torch.tensor(rgb, device=image.device).view(1, 3, 1, 1)
        image = torch.where(where.expand_as(image), colour.expand_as(image), image)
    return image


def prediction_grid(
    dsm: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    logits: torch.Tensor,
    max_samples: int = 4,
) -> torch.Tensor:
    """(3, n*H, 4*W) float image in [0, 1] for ``SummaryWriter.add_image``.

    Args:
        dsm: (B, 1, H, W) heights (any scale; stretched per sample).
        target: (B, 1, H, W) gap truth.
        valid: (B, 1, H, W) bool.
        logits: (B, 1, H, W) model output.
        max_samples: rows drawn.
    """
    n = min(max_samples, dsm.shape[0])
    dsm, target, valid, logits = (
        t[:n].detach().float().cpu() for t in (dsm, target, valid, logits)
    )
    valid = valid.bool()
    probability = torch.sigmoid(logits)
    columns = [
        _gray(_stretch(dsm, valid)),
        _gray(target * valid),
        _gray(probability * valid),
        error_map(probability > 0.5, target > 0.5, valid),
    ]
    rows = torch.cat(columns, dim=3)  # (n, 3, H, 4W)
    return torch.cat(list(rows), dim=1)


def activation_grid(activation: torch.Tensor, max_channels: int = 16) -> torch.Tensor:
    """(1, rows*H, cols*W) grid of the first sample's channels, each stretched to [0, 1]."""
    maps = activation[0, :max_channels].detach().float().cpu()
    low = maps.amin(dim=(1, 2), keepdim=True)
    high = maps.amax(dim=(1, 2), keepdim=True)
    maps = (maps - low) / (high - low).clamp_min(1e-6)
    cols = 4
    rows = -(-maps.shape[0] // cols)
    padded = torch.zeros(rows * cols, *maps.shape[1:])
    padded[: maps.shape[0]] = maps
    grid = padded.view(rows, cols, *maps.shape[1:]).permute(0, 2, 1, 3)
    return grid.reshape(1, rows * maps.shape[1], cols * maps.shape[2])

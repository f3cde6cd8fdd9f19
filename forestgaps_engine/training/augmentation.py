"""Augmentation of device batches: one geometry for DSM, mask and validity; DSM-only jitter.

Geometry (flips and quarter turns exactly with torch, small affine and optional elastic
warps with Kornia) is drawn once per sample and applied to the DSM, the gap mask and the
validity mask alike; masks use nearest resampling. The DSM is warped by normalised
interpolation (DSM*valid and valid are warped together and divided), so no invalid cell
leaks into a valid height, and any cell touched by an invalid or out-of-tile source
becomes invalid. Then, on the DSM only: a vertical offset and a random plane (terrain
tilt) teach the model that gaps do not depend on absolute altitude or slope, and Gaussian
noise mimics surface-model noise. The mask is left unchanged by these, as it should be:
gaps are defined on canopy height above ground, not on the surface's altitude.
"""

from __future__ import annotations

from collections.abc import Mapping

import kornia.augmentation as K
import torch
from torch import nn

from forestgaps_engine.config.training import AugmentationConfig

# A warped cell keeps its height only if nearly all of its interpolation weight came from
# valid cells.
MIN_VALID_WEIGHT = 0.99


def _flip_and_turn(tensors: list[torch.Tensor], allow_turn: bool, flip: bool) -> list[torch.Tensor]:
    """Per-sample random h/v flips and quarter turns, identical for every tensor."""
    batch_size = tensors[0].shape[0]
    device = tensors[0].device
    if flip:
        for dim in (-1, -2):
            chosen = torch.rand(batch_size) < 0.5
            if chosen.any():
                index = chosen.nonzero().flatten().to(device)
                tensors = [
                    t.index_copy(0, index, t.index_select(0, index).flip(dim)) for t in tensors
                ]
    if allow_turn:
        turns = torch.randint(0, 4, (batch_size,))
        for k in (1, 2, 3):
            chosen = turns == k
            if chosen.any():
                index = chosen.nonzero().flatten().to(device)
                tensors = [
                    t.index_copy(0, index, torch.rot90(t.index_select(0, index), k, dims=(-2, -1)))
                    for t in tensors
                ]
    return tensors


class DsmAugmenter(nn.Module):
    """Augments a batch dict ``{dsm, valid, mask, threshold_m}`` in place of the device.

    Args:
        config: which transforms and how strong.
        resolution_m: cell size, metres (turns the tilt slope into metres per cell).

    Shape:
        dsm (B, 1, H, W) float metres; valid (B, 1, H, W) bool; mask (B, 1, H, W) float.
        Outputs have the same shapes; invalid DSM cells are 0.
    """

    def __init__(self, config: AugmentationConfig, resolution_m: float = 1.0) -> None:
        super().__init__()
        self.config = config
        self.resolution_m = resolution_m
        warps: list[nn.Module] = []
        if config.affine_probability > 0 and (config.affine_degrees > 0 or config.affine_scale > 0):
            warps.append(
                K.RandomAffine(
                    degrees=config.affine_degrees,
                    scale=(1.0 - config.affine_scale, 1.0 + config.affine_scale),
                    p=config.affine_probability,
                )
            )
        if config.elastic_probability > 0:
            warps.append(
                K.RandomElasticTransform(
                    kernel_size=(31, 31),
                    sigma=(6.0, 6.0),
                    alpha=(1.0, 1.0),
                    p=config.elastic_probability,
                )
            )
        self.warp = K.AugmentationSequential(*warps, data_keys=["input", "mask"]) if warps else None

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Return a new batch dict with augmented ``dsm``, ``valid`` and ``mask``."""
        if not self.config.enabled:
            return dict(batch)
        valid = batch["valid"].to(torch.bool)
        dsm = torch.where(
            valid, torch.nan_to_num(batch["dsm"].float()), torch.zeros_like(batch["dsm"])
        )
        mask = batch["mask"].float()
        height_px, width_px = dsm.shape[-2:]
        # A terrain prior moves with the DSM: same flips, warps, offset and tilt.
        has_prior = "terrain_prior" in batch
        if has_prior:
            dsm = torch.cat([dsm, batch["terrain_prior"].float()], dim=1)
        dsm, mask, valid_f = _flip_and_turn(
            [dsm, mask, valid.float()],
            self.config.rot90 and height_px == width_px,
            self.config.flip,
        )
        valid = valid_f > 0.5
        if self.warp is not None:
            dsm, mask, valid = self._warp(dsm, mask, valid)
        dsm = self._jitter(dsm, batch.get("cell_size_m"))
        out = dict(batch)
        if has_prior:
            out["terrain_prior"] = dsm[:, 1:2]
            dsm = dsm[:, 0:1]
        out["dsm"] = torch.where(valid, dsm, torch.zeros_like(dsm))
        out["valid"] = valid
        out["mask"] = mask * valid
        return out

    def _warp(
        self, dsm: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        weight = valid.float()
        smooth, nearest = self.warp(
            torch.cat([dsm * weight, weight], 1), torch.cat([mask, weight], 1)
        )
        # The weight is the last smooth channel (after the DSM and any terrain prior).
        warped_weight = smooth[:, -1:]
        valid = (nearest[:, 1:2] > 0.5) & (warped_weight > MIN_VALID_WEIGHT)
        dsm = smooth[:, :-1] / warped_weight.clamp_min(1e-6)
        return dsm, (nearest[:, 0:1] > 0.5).float(), valid

    def _jitter(self, dsm: torch.Tensor, cell_size_m: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        batch_size, _, height_px, width_px = dsm.shape
        device = dsm.device
        if config.vertical_offset_m > 0:
            offset_m = (torch.rand(batch_size, 1, 1, 1) * 2 - 1) * config.vertical_offset_m
            dsm = dsm + offset_m.to(device)
        if config.tilt_max_slope > 0:
            slopes = (torch.rand(batch_size, 2, 1, 1) * 2 - 1) * config.tilt_max_slope
            rows = (
                torch.arange(height_px, dtype=torch.float32) - (height_px - 1) / 2
            ) * self.resolution_m
            cols = (
                torch.arange(width_px, dtype=torch.float32) - (width_px - 1) / 2
            ) * self.resolution_m
            plane_m = slopes[:, 0:1] * rows.view(1, 1, -1, 1) + slopes[:, 1:2] * cols.view(
                1, 1, 1, -1
            )
            if cell_size_m is not None:
                # Tiles on their own grids: the slope is per metre of each tile's cells.
                per_tile = cell_size_m.detach().float().cpu().view(-1, 1, 1, 1)
                plane_m = plane_m * (per_tile / self.resolution_m)
            dsm = dsm + plane_m.to(device)
        if config.noise_std_m > 0:
            noise = torch.randn(dsm.shape) * config.noise_std_m
            dsm = dsm + noise.to(device)
        return dsm

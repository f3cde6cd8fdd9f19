"""Masked segmentation losses on logits: BCE, Dice, Focal, Tversky and their weighted sum.

Every loss takes ``logits``, ``target`` and ``valid`` of shape (B, 1, H, W); invalid
pixels contribute nothing, to means and to Dice/Tversky sums alike, so predictions there
never move the loss or its gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from forestgaps_engine.config.training import LossConfig

_EPS = 1e-6


def _masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    weights = valid.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def masked_bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binary cross-entropy with logits, averaged over valid pixels.

    Args:
        logits: (B, 1, H, W) raw scores.
        target: (B, 1, H, W) gap probability in [0, 1].
        valid: (B, 1, H, W) bool or 0/1.
        pos_weight: (B,) weight of the gap class per sample, or None.
    """
    weight = None
    if pos_weight is not None:
        weight = pos_weight.view(-1, *([1] * (logits.dim() - 1))).to(logits.dtype)
    values = F.binary_cross_entropy_with_logits(logits, target, reduction="none", pos_weight=weight)
    return _masked_mean(values, valid)


def masked_focal(
    logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, gamma: float = 2.0
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): BCE scaled by (1 - p_t)^gamma, mean over valid pixels."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    probability = torch.sigmoid(logits)
    p_t = probability * target + (1.0 - probability) * (1.0 - target)
    return _masked_mean((1.0 - p_t).clamp_min(0.0).pow(gamma) * bce, valid)


def masked_tversky(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    alpha: float = 0.5,
    beta: float = 0.5,
) -> torch.Tensor:
    """1 - Tversky index per sample, averaged over samples that hold valid pixels.

    alpha weighs false positives, beta false negatives; alpha = beta = 0.5 is Dice. Sums
    run over valid pixels only. A sample with no gap and no predicted gap scores ~0.
    """
    weights = valid.to(logits.dtype)
    probability = torch.sigmoid(logits) * weights
    truth = target * weights
    dims = tuple(range(1, logits.dim()))
    tp = (probability * truth).sum(dims)
    fp = (probability * (1.0 - truth) * weights).sum(dims)
    fn = ((1.0 - probability) * truth).sum(dims)
    index = (tp + _EPS) / (tp + alpha * fp + beta * fn + _EPS)
    has_valid = weights.sum(dims) > 0
    per_sample = (1.0 - index) * has_valid.to(logits.dtype)
    return per_sample.sum() / has_valid.sum().clamp_min(1).to(logits.dtype)


def masked_dice(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Soft Dice loss over valid pixels (Tversky with alpha = beta = 0.5)."""
    return masked_tversky(logits, target, valid, alpha=0.5, beta=0.5)


class CombinedLoss(nn.Module):
    """Weighted sum of the masked losses named in :class:`LossConfig`.

    Args:
        config: term weights, focal gamma, Tversky alpha/beta, label smoothing and the
            gap-class weight per threshold (thresholds absent from it weigh 1).
    """

    def __init__(self, config: LossConfig) -> None:
        super().__init__()
        self.config = config
        items = sorted(config.pos_weight_by_threshold.items())
        self.register_buffer(
            "_pw_thresholds_m", torch.tensor([t for t, _ in items], dtype=torch.float32)
        )
        self.register_buffer("_pw_values", torch.tensor([w for _, w in items], dtype=torch.float32))

    def pos_weight(self, threshold_m: torch.Tensor) -> torch.Tensor | None:
        """(B,) gap-class weight of each sample from its threshold, or None when unset."""
        if self._pw_thresholds_m.numel() == 0:
            return None
        distance = (threshold_m.view(-1, 1).float() - self._pw_thresholds_m.view(1, -1)).abs()
        nearest, index = distance.min(dim=1)
        weight = self._pw_values[index]
        return torch.where(nearest < 1e-3, weight, torch.ones_like(weight))

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        valid: torch.Tensor,
        threshold_m: torch.Tensor,
    ) -> torch.Tensor:
        """Scalar loss: the configured terms, computed in float32, weighted and summed."""
        config = self.config
        logits = logits.float()
        target = target.float()
        if config.label_smoothing > 0:  # pull 0/1 targets towards 0.5: y * (1 - s) + s / 2
            target = target * (1.0 - config.label_smoothing) + 0.5 * config.label_smoothing
        terms: dict[str, torch.Tensor] = {}
        if config.bce_weight > 0:
            terms["bce"] = masked_bce(logits, target, valid, self.pos_weight(threshold_m))
        if config.dice_weight > 0:
            terms["dice"] = masked_dice(logits, target, valid)
        if config.focal_weight > 0:
            terms["focal"] = masked_focal(logits, target, valid, config.focal_gamma)
        if config.tversky_weight > 0:
            terms["tversky"] = masked_tversky(
                logits, target, valid, config.tversky_alpha, config.tversky_beta
            )
        # LossConfig names each term's weight <term>_weight.
        return sum(getattr(config, f"{name}_weight") * value for name, value in terms.items())

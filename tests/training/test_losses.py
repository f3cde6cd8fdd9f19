import math

import pytest
import torch

from forestgaps_engine.config.training import LossConfig
from forestgaps_engine.training.losses import (
    CombinedLoss,
    masked_bce,
    masked_dice,
    masked_focal,
    masked_tversky,
)

ALL_TERMS = LossConfig(bce_weight=1, dice_weight=1, focal_weight=1, tversky_weight=1)


def _batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 1, 8, 8, generator=generator)
    target = (torch.rand(2, 1, 8, 8, generator=generator) > 0.6).float()
    valid = torch.ones(2, 1, 8, 8, dtype=torch.bool)
    valid[:, :, :3, :] = False
    return logits, target, valid, torch.tensor([2.0, 5.0])


@pytest.mark.parametrize("name", ["bce", "dice", "focal", "tversky", "combined"])
def test_predictions_on_invalid_pixels_change_nothing(name):
    logits, target, valid, threshold_m = _batch()
    fn = {
        "bce": lambda lg, tg: masked_bce(lg, tg, valid),
        "dice": lambda lg, tg: masked_dice(lg, tg, valid),
        "focal": lambda lg, tg: masked_focal(lg, tg, valid),
        "tversky": lambda lg, tg: masked_tversky(lg, tg, valid, 0.3, 0.7),
        "combined": lambda lg, tg: CombinedLoss(ALL_TERMS)(lg, tg, valid, threshold_m),
    }[name]
    altered_logits = torch.where(valid, logits, torch.full_like(logits, 50.0))
    altered_target = torch.where(valid, target, 1.0 - target)
    base = fn(logits.clone().requires_grad_(True), target)
    leaf = altered_logits.clone().requires_grad_(True)
    altered = fn(leaf, altered_target)
    assert torch.allclose(base, altered, atol=1e-6)
    altered.backward()
    assert torch.isfinite(leaf.grad).all()
    assert torch.count_nonzero(leaf.grad[~valid]) == 0


def test_known_values():
    logits = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.0]]]])
    valid = torch.ones_like(target, dtype=torch.bool)
    assert masked_bce(logits, target, valid).item() == pytest.approx(math.log(2))
    # p = 0.5 everywhere: tp = 0.5, fp = 0.5, fn = 0.5 -> dice index = 0.5
    assert masked_dice(logits, target, valid).item() == pytest.approx(0.5, abs=1e-5)
    # focal at p_t = 0.5, gamma 2: 0.25 * log 2
    assert masked_focal(logits, target, valid).item() == pytest.approx(0.25 * math.log(2))
    perfect = torch.tensor([[[[20.0, -20.0]]]])
    assert masked_dice(perfect, target, valid).item() == pytest.approx(0.0, abs=1e-5)


def test_pos_weight_per_threshold_and_label_smoothing():
    logits = torch.zeros(2, 1, 1, 1)
    target = torch.ones(2, 1, 1, 1)
    valid = torch.ones_like(target, dtype=torch.bool)
    config = LossConfig(bce_weight=1, dice_weight=0, pos_weight_by_threshold={5.0: 3.0})
    loss = CombinedLoss(config)
    assert loss.pos_weight(torch.tensor([2.0, 5.0])).tolist() == [1.0, 3.0]
    value = loss(logits, target, valid, torch.tensor([2.0, 5.0])).item()
    assert value == pytest.approx((1.0 + 3.0) / 2 * math.log(2))
    smoothed = CombinedLoss(LossConfig(bce_weight=1, dice_weight=0, label_smoothing=0.2))
    # a confident correct logit is penalised once targets are 0.9
    confident = torch.full((2, 1, 1, 1), 10.0)
    assert smoothed(confident, target, valid, torch.tensor([2.0, 5.0])).item() > 0.5


def test_all_invalid_gives_zero_not_nan():
    logits, target, _, threshold_m = _batch()
    valid = torch.zeros_like(target, dtype=torch.bool)
    leaf = logits.clone().requires_grad_(True)
    value = CombinedLoss(ALL_TERMS)(leaf, target, valid, threshold_m)
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(leaf.grad).all()

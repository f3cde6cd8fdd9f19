"""loss.correction_l1_weight keeps a relief model near the DSM-only baseline's rule (#24).

The relief model's learned correction shifts its relief by up to ``correction_bound_m``;
on real sites it never saw, a free shift undid the baseline where the baseline was right.
The penalty charges every metre of shift, so the shift grows only where the masks pay.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from forestgaps_engine.config.training import TrainingConfig
from forestgaps_engine.models import create
from forestgaps_engine.training.trainer import Trainer
from tests.training.tiny import RandomGapDataset, ScaleNormalizer

RELIEF = {
    "base_channels": 4,
    "depth": 2,
    "embedding_dim": 8,
    "fixed_height_unit": True,
    "ground_window_m": 8.0,
    "ground_smoothing_m": 1.0,
    "zero_init_correction": True,
    "correction_bound_m": 2.0,
}


def _mean_shift_after_training(weight: float) -> float:
    torch.manual_seed(0)
    model = create("unet_film_relief", **RELIEF)
    config = TrainingConfig(
        epochs=3, batch_size=4, amp="off", device="cpu", scheduler={"name": "constant"},
        optimizer={"lr": 0.02}, augmentation={"enabled": False},
        loss={"correction_l1_weight": weight},
    )  # fmt: skip
    trainer = Trainer(model, ScaleNormalizer(), config, [], torch.device("cpu"))
    loader = DataLoader(RandomGapDataset(16, 32, seed=1), batch_size=4)
    trainer.fit(loader, None)
    batch = next(iter(loader))
    model.train()  # the shift is kept for the penalty in training mode only
    with torch.no_grad():
        trainer.forward(trainer.to_device(batch), model)
    return float(model.last_correction_m.abs().mean())


def test_penalty_keeps_the_correction_small() -> None:
    free = _mean_shift_after_training(0.0)
    penalised = _mean_shift_after_training(5.0)
    assert free > 0.01
    assert penalised < 0.5 * free

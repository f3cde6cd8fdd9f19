import logging
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from forestgaps_engine.config import load_config
from forestgaps_engine.config.training import (
    LinearScheduleConfig,
    OptimizerConfig,
    RegularizationConfig,
    TrainingConfig,
)
from forestgaps_engine.models.blocks.drop_path import DropPath
from forestgaps_engine.training.api import train
from forestgaps_engine.training.callbacks.base import CallbackList
from forestgaps_engine.training.callbacks.checkpoint import ModelCheckpoint
from forestgaps_engine.training.callbacks.regularization import RegularizationCallback
from forestgaps_engine.training.optim import build_optimizer
from forestgaps_engine.training.state import load_checkpoint
from forestgaps_engine.training.trainer import Trainer
from tests.training.prepared import write_prepared
from tests.training.tiny import RandomGapDataset, ScaleNormalizer, TinyModel


class DropModel(TinyModel):
    """TinyModel plus three residual DropPath blocks (built at 0.2 for the deepest)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(DropPath(rate) for rate in (0.0, 0.1, 0.2))
        self.convs = nn.ModuleList(nn.Conv2d(4, 4, 1) for _ in range(3))

    def forward(self, dsm: torch.Tensor, threshold_m: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.conv1(dsm)))
        x = x + self.film(threshold_m.view(-1, 1) / 10.0).view(-1, x.shape[1], 1, 1)
        for conv, drop in zip(self.convs, self.blocks, strict=True):
            x = x + drop(conv(x))
        return self.head(self.drop(x))


def _fake_trainer(model: nn.Module) -> SimpleNamespace:
    optimizer = build_optimizer(model, OptimizerConfig(weight_decay=1e-3))
    return SimpleNamespace(
        module=model, optimizer=optimizer, is_main_process=True, callbacks=CallbackList()
    )


def _rates(model: nn.Module) -> list[float]:
    return [round(block.rate, 6) for block in model.blocks]


def _decays(trainer: SimpleNamespace) -> list[float]:
    return [group["weight_decay"] for group in trainer.optimizer.param_groups]


def test_schedules_set_dropout_and_depth_scaled_drop_path_per_epoch():
    config = RegularizationConfig(
        dropout_schedule={"enabled": True, "start": 0.0, "end": 0.3, "over_epochs": 4},
        drop_path_schedule={"enabled": True, "start": 0.1, "end": 0.3, "over_epochs": 3},
    )
    model = DropModel()
    trainer = _fake_trainer(model)
    callback = RegularizationCallback(config)
    callback.on_train_begin(trainer)
    seen = []
    for epoch in range(5):
        callback.on_epoch_begin(trainer, epoch)
        seen.append((round(model.drop.p, 6), _rates(model)))
    assert [p for p, _ in seen] == [0.0, 0.1, 0.2, 0.3, 0.3]
    assert [r for _, r in seen] == [
        [0.0, 0.05, 0.1],
        [0.0, 0.1, 0.2],
        [0.0, 0.15, 0.3],
        [0.0, 0.15, 0.3],
        [0.0, 0.15, 0.3],
    ]


def test_schedule_value_at_holds_end_and_zero_epochs_means_end():
    assert LinearScheduleConfig(start=0.0, end=0.2, over_epochs=0).value_at(0) == 0.2
    assert LinearScheduleConfig(start=0.1, end=0.2, over_epochs=3).value_at(99) == 0.2


def test_disabled_section_leaves_the_built_model_untouched():
    model = DropModel()
    trainer = _fake_trainer(model)
    callback = RegularizationCallback(RegularizationConfig())
    callback.on_train_begin(trainer)
    for epoch in range(3):
        callback.on_epoch_begin(trainer, epoch)
        callback.on_epoch_end(trainer, epoch, {"loss": 0.1, "val_loss": 5.0})
    assert model.drop.p == pytest.approx(0.1)
    assert _rates(model) == [0.0, 0.1, 0.2]
    assert _decays(trainer) == [1e-3, 0.0]


def test_adaptive_strengthens_after_patience_within_caps_and_logs(caplog):
    config = RegularizationConfig(
        adaptive={
            "enabled": True,
            "gap_threshold": 0.1,
            "patience_epochs": 2,
            "probability_step": 0.1,
            "weight_decay_factor": 4.0,
            "max_dropout": 0.25,
            "max_drop_path": 0.35,
            "max_weight_decay": 0.01,
        }
    )
    model = DropModel()
    trainer = _fake_trainer(model)
    callback = RegularizationCallback(config)
    callback.on_train_begin(trainer)
    overfit = {"loss": 0.2, "val_loss": 0.5}
    caplog.set_level(logging.INFO, logger="forestgaps_engine.training.callbacks.regularization")

    callback.on_epoch_end(trainer, 0, overfit)
    callback.on_epoch_end(trainer, 1, {"loss": 0.2, "val_loss": 0.25})  # gap resets
    callback.on_epoch_end(trainer, 2, overfit)
    assert callback.strengthen_count == 0
    assert _decays(trainer) == [1e-3, 0.0]
    assert "strengthened" not in caplog.text

    callback.on_epoch_end(trainer, 3, overfit)  # second epoch in a row over the threshold
    assert callback.strengthen_count == 1
    assert _decays(trainer) == [pytest.approx(4e-3), 0.0]  # undecayed group stays at 0
    callback.on_epoch_begin(trainer, 4)
    assert model.drop.p == pytest.approx(0.2)
    assert _rates(model) == [0.0, 0.15, 0.3]
    assert "regularization strengthened" in caplog.text
    assert "weight decay[group 0] 0.001 -> 0.004" in caplog.text

    for epoch in range(4, 12):
        callback.on_epoch_end(trainer, epoch, overfit)
    callback.on_epoch_begin(trainer, 12)
    assert model.drop.p == pytest.approx(0.25)
    assert max(_rates(model)) == pytest.approx(0.35)
    assert _decays(trainer) == [pytest.approx(0.01), 0.0]
    assert "at its caps" in caplog.text


def test_state_round_trips_through_a_trainer_checkpoint(tmp_path):
    regularization = RegularizationConfig(
        dropout_schedule={"enabled": True, "start": 0.0, "end": 0.2, "over_epochs": 2},
        adaptive={"enabled": True, "gap_threshold": 0.0, "patience_epochs": 1},
    )
    config = TrainingConfig(
        epochs=2, batch_size=4, amp="off", device="cpu", augmentation={"enabled": False}
    )
    torch.manual_seed(0)
    callback = RegularizationCallback(regularization)
    checkpoint = ModelCheckpoint(tmp_path / "checkpoints")
    trainer = Trainer(
        DropModel(), ScaleNormalizer(), config, [callback, checkpoint], torch.device("cpu")
    )
    callback.on_train_begin(trainer)
    callback.on_epoch_end(trainer, 0, {"loss": 0.1, "val_loss": 0.9})
    assert callback.strengthen_count == 1
    path = tmp_path / "state.pt"
    torch.save(trainer.state_dict(), path)

    restored = RegularizationCallback(regularization)
    fresh = Trainer(DropModel(), ScaleNormalizer(), config, [restored], torch.device("cpu"))
    fresh.load_state_dict(load_checkpoint(path))
    restored.on_train_begin(fresh)
    restored.on_epoch_begin(fresh, 1)
    callback.on_epoch_begin(trainer, 1)
    assert restored.state_dict() == callback.state_dict()
    assert fresh.module.drop.p == pytest.approx(trainer.module.drop.p) == pytest.approx(0.25)
    assert _rates(fresh.module) == _rates(trainer.module)
    assert [g["weight_decay"] for g in fresh.optimizer.param_groups] == [
        g["weight_decay"] for g in trainer.optimizer.param_groups
    ]


def test_trainer_fit_applies_the_schedule_each_epoch(tmp_path):
    regularization = RegularizationConfig(
        dropout_schedule={"enabled": True, "start": 0.0, "end": 0.2, "over_epochs": 3},
        adaptive={"enabled": True},
    )
    config = TrainingConfig(
        epochs=3, batch_size=4, amp="off", device="cpu", augmentation={"enabled": False}
    )
    seen: list[float] = []

    class Spy(RegularizationCallback):
        def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
            super().on_epoch_begin(trainer, epoch)
            seen.append(round(trainer.module.drop.p, 6))

    trainer = Trainer(
        TinyModel(), ScaleNormalizer(), config, [Spy(regularization)], torch.device("cpu")
    )
    trainer.fit(
        DataLoader(RandomGapDataset(8, 16, seed=1), batch_size=4),
        DataLoader(RandomGapDataset(4, 16, seed=2), batch_size=4),
    )
    assert seen == [0.0, 0.1, 0.2]


def test_train_runs_with_the_section_enabled(tmp_path):
    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    config = load_config(
        None,
        [
            "gaps.thresholds_m=[2, 5]",
            "model.name=unet_film",
            "model.params={base_channels: 8, depth: 2, dropout: 0.1}",
            "training.epochs=2",
            "training.batch_size=4",
            "training.amp=off",
            "training.device=cpu",
            "training.num_workers=0",
            "training.monitoring.tensorboard=false",
            f"training.output_dir={tmp_path / 'run'}",
            "training.regularization.dropout_schedule.enabled=true",
            "training.regularization.dropout_schedule.over_epochs=2",
            "training.regularization.adaptive.enabled=true",
            "training.regularization.adaptive.patience_epochs=1",
        ],
    )
    result = train(config, prepared)
    assert result.epochs_run == 2
    state = load_checkpoint(result.checkpoint_dir / "last.pt")
    assert set(state["callbacks"]["RegularizationCallback"]) >= {"dropout_added", "gap_epochs"}


def test_schedule_reaches_a_registered_models_modules():
    from forestgaps_engine.models import create

    model = create("unet_film_cbam", base_channels=8, depth=2, dropout=0.1, drop_path=0.2)
    config = RegularizationConfig(
        dropout_schedule={"enabled": True, "start": 0.3, "end": 0.3, "over_epochs": 0},
        drop_path_schedule={"enabled": True, "start": 0.4, "end": 0.4, "over_epochs": 0},
    )
    trainer = _fake_trainer(model)
    callback = RegularizationCallback(config)
    callback.on_train_begin(trainer)
    callback.on_epoch_begin(trainer, 0)
    dropouts = [m.p for m in model.modules() if isinstance(m, nn.Dropout2d)]
    rates = [m.rate for m in model.modules() if isinstance(m, DropPath)]
    assert dropouts and all(p == pytest.approx(0.3) for p in dropouts)
    assert len(rates) > 1 and rates[0] == 0.0 and rates[-1] == pytest.approx(0.4)
    assert rates == sorted(rates)


def test_values_go_to_the_tensorboard_writer_of_another_callback():
    class Recorder:
        def __init__(self) -> None:
            self.scalars: dict[str, float] = {}

        def add_scalar(self, tag: str, value: float, step: int) -> None:
            self.scalars[tag] = value

    holder = SimpleNamespace(writer=Recorder())
    model = DropModel()
    trainer = _fake_trainer(model)
    trainer.callbacks = SimpleNamespace(callbacks=[holder])
    trainer.global_step = 3
    config = RegularizationConfig(
        dropout_schedule={"enabled": True, "start": 0.0, "end": 0.2, "over_epochs": 3}
    )
    callback = RegularizationCallback(config)
    callback.on_train_begin(trainer)
    callback.on_epoch_end(trainer, 0, {"loss": 0.1})
    assert holder.writer.scalars == {
        "regularization/dropout": pytest.approx(0.1),  # the next epoch's value
        "regularization/drop_path": pytest.approx(0.2),
        "regularization/weight_decay": pytest.approx(1e-3),
    }

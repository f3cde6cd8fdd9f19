import logging
import math

import pytest
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.config.training import TrainingConfig
from forestgaps_engine.errors import TrainingError
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.callbacks.checkpoint import ModelCheckpoint
from forestgaps_engine.training.callbacks.early_stopping import EarlyStopping
from forestgaps_engine.training.callbacks.lr_monitor import LearningRateMonitor
from forestgaps_engine.training.callbacks.progress import ProgressDisplay
from forestgaps_engine.training.state import load_checkpoint
from forestgaps_engine.training.trainer import Trainer
from tests.training.tiny import RandomGapDataset, ScaleNormalizer, TinyModel


def _config(**overrides) -> TrainingConfig:
    values = {
        "epochs": 3,
        "batch_size": 4,
        "amp": "off",
        "device": "cpu",
        "scheduler": {"name": "constant"},
        "optimizer": {"lr": 0.05},
        "augmentation": {"enabled": False},
    }
    values.update(overrides)
    return TrainingConfig(**values)


def _loaders(n_train: int = 16):
    return (
        DataLoader(RandomGapDataset(n_train, 16, seed=1), batch_size=4),
        DataLoader(RandomGapDataset(8, 16, seed=2), batch_size=4),
    )


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_train_begin(self, trainer):
        self.events.append("train_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.events.append(f"epoch_begin{epoch}")

    def on_batch_end(self, trainer, batch_index, logs):
        assert math.isfinite(logs["loss"])
        if logs["is_optimizer_step"]:
            assert logs["grad_norm"] >= 0 and logs["lr"] > 0

    def on_validation_end(self, trainer, epoch, logs):
        self.events.append(f"val_end{epoch}")

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append(f"epoch_end{epoch}")

    def on_train_end(self, trainer):
        self.events.append("train_end")


def test_fit_learns_and_reports_per_threshold_metrics():
    torch.manual_seed(0)
    recorder = Recorder()
    trainer = Trainer(
        TinyModel(), ScaleNormalizer(), _config(epochs=4), [recorder], torch.device("cpu")
    )
    history = trainer.fit(*_loaders())
    assert recorder.events[:4] == ["train_begin", "epoch_begin0", "val_end0", "epoch_end0"]
    assert recorder.events[-1] == "train_end"
    assert len(history) == 4
    assert history[-1]["loss"] < history[0]["loss"]
    for key in ("val_loss", "val_iou", "val_f1", "val_iou_t2", "val_iou_t5", "val_mean_iou"):
        assert 0.0 <= history[-1][key] <= max(1.0, history[-1]["val_loss"])
    assert trainer.global_step == 4 * 4
    assert history[-1]["val_loss"] < history[0]["val_loss"]


def test_accumulation_counts_optimizer_steps():
    trainer = Trainer(
        TinyModel(),
        ScaleNormalizer(),
        _config(epochs=1, accumulation_steps=3),
        [],
        torch.device("cpu"),
    )
    trainer.fit(_loaders()[0])
    assert trainer.global_step == 2  # 4 batches -> steps after batch 3 and after the last


def test_nan_loss_names_the_step():
    class Exploding(TinyModel):
        def forward(self, dsm, threshold_m):
            return super().forward(dsm, threshold_m) * float("nan")

    trainer = Trainer(Exploding(), ScaleNormalizer(), _config(), [], torch.device("cpu"))
    with pytest.raises(TrainingError, match=r"epoch 1, batch 1 \(optimizer step 1\)"):
        trainer.fit(_loaders()[0])


def test_early_stopping_checkpoints_and_lr_monitor(tmp_path, caplog):
    checkpoint = ModelCheckpoint(tmp_path / "ckpt", monitor="val_iou", mode="max")
    stopper = EarlyStopping(monitor="val_loss", mode="min", patience_epochs=1, min_delta=10.0)
    lr_monitor = LearningRateMonitor()
    progress = ProgressDisplay(log_every_steps=2)
    config = _config(epochs=10)
    trainer = Trainer(
        TinyModel(),
        ScaleNormalizer(),
        config,
        [progress, lr_monitor, stopper, checkpoint],
        torch.device("cpu"),
    )
    with caplog.at_level(logging.INFO, logger="forestgaps_engine"):
        history = trainer.fit(*_loaders())
    assert len(history) == 2  # nothing improves by 10 -> stops after one bad epoch
    assert stopper.stopped_epoch == 1
    assert len(lr_monitor.history) == trainer.global_step
    state = load_checkpoint(checkpoint.last_path)
    assert state["epoch"] == 2 and state["next_batch"] == 0
    assert state["callbacks"]["EarlyStopping"]["bad_epochs"] == 1
    assert checkpoint.best_path.is_file()
    assert any("samples/s" in r.getMessage() for r in caplog.records)  # quiet mode: log lines
    assert any("val_iou" in r.getMessage() for r in caplog.records)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(TrainingError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot be read"):
        load_checkpoint(bad)


def test_cancel_stops_training():
    from forestgaps_engine.errors import CancelledError

    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    trainer = Trainer(
        TinyModel(), ScaleNormalizer(), _config(), [], torch.device("cpu"), cancel=cancel
    )
    with pytest.raises(CancelledError):
        trainer.fit(_loaders()[0])


def test_precision_choices_on_cpu():
    from forestgaps_engine.training.precision import probe_cpu_bf16_speedup, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("off", cpu).dtype is None
    assert resolve_precision("bf16", cpu).dtype is torch.bfloat16
    assert resolve_precision("fp16", cpu).dtype is None  # not supported on CPU: fp32
    assert not resolve_precision("bf16", cpu).uses_grad_scaler
    model = TinyModel()
    rng_before = torch.get_rng_state()
    assert probe_cpu_bf16_speedup(model, tile_size_px=16) > 0
    assert torch.equal(rng_before, torch.get_rng_state())  # the probe leaves training's RNG alone


def test_bf16_autocast_trains_on_cpu():
    trainer = Trainer(
        TinyModel(), ScaleNormalizer(), _config(epochs=1, amp="bf16"), [], torch.device("cpu")
    )
    history = trainer.fit(*_loaders(8))
    assert math.isfinite(history[-1]["loss"]) and math.isfinite(history[-1]["val_loss"])


def test_progress_bar_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    trainer = Trainer(
        TinyModel(),
        ScaleNormalizer(),
        _config(epochs=1),
        [ProgressDisplay(stream=stream)],
        torch.device("cpu"),
    )
    trainer.fit(*_loaders(8))
    text = stream.getvalue()
    assert "\r[" in text and "samples/s" in text and "iou" in text and "f1" in text


def test_forward_fills_nodata_as_predict_does_before_normalizing():
    """A batch with a hole gives the logits of the same batch filled by nearest height."""
    import numpy as np

    from forestgaps_engine.data.fill import fill_nodata_nearest

    class SeesInput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(()))  # the optimizer needs one

        def forward(self, dsm, threshold_m):
            return dsm.repeat_interleave(threshold_m.numel() // dsm.shape[0], 0)

    trainer = Trainer(SeesInput(), ScaleNormalizer(), _config(), [], torch.device("cpu"))
    rows, cols = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    dsm = (300.0 + rows + 0.5 * cols).expand(2, 1, 16, 16).clone()
    valid = torch.ones_like(dsm, dtype=torch.bool)
    valid[0, 0, 4:9, 6:12] = False
    holed = {"dsm": torch.where(valid, dsm, torch.zeros_like(dsm)), "valid": valid,
             "threshold_m": torch.tensor([5.0, 5.0])}  # fmt: skip
    filled, model_valid = fill_nodata_nearest(holed["dsm"].numpy(), valid.numpy())
    expected = ScaleNormalizer()(torch.from_numpy(filled), torch.from_numpy(model_valid))

    logits = trainer.forward(holed)

    torch.testing.assert_close(logits, expected)
    # The hole holds heights from its rim, not the zeros the batch carried.
    assert float(logits[0, 0, 4:9, 6:12].min()) > float(ScaleNormalizer()(dsm, valid)[0].min())
    assert np.isfinite(logits.numpy()).all()

import torch
from torch.utils.data import DataLoader

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.training.callbacks.images import prediction_grid
from forestgaps_engine.training.callbacks.tensorboard import TensorBoardLogger
from forestgaps_engine.training.trainer import Trainer
from tests.training.tiny import RandomGapDataset, ScaleNormalizer, TinyModel


def test_tensorboard_writes_scalars_images_activations_and_hparams(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = ForestGapsConfig.model_validate(
        {
            "training": {
                "epochs": 2,
                "batch_size": 4,
                "amp": "off",
                "device": "cpu",
                "augmentation": {"enabled": False},
            }
        }
    )
    logger_cb = TensorBoardLogger(
        tmp_path / "tb", config, log_every_steps=1, activation_logs_per_run=2
    )
    trainer = Trainer(
        TinyModel(), ScaleNormalizer(), config.training, [logger_cb], torch.device("cpu")
    )
    trainer.fit(
        DataLoader(RandomGapDataset(8, 16, seed=1), batch_size=4),
        DataLoader(RandomGapDataset(4, 16, seed=2), batch_size=4),
    )
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    for tag in (
        "train/loss",
        "train/grad_norm",
        "train/lr",
        "val/iou",
        "val_per_threshold/iou_t2",
        "val_counts/tp_t5",
        "resources/cpu_percent",
        "resources/ram_mb",
    ):
        assert tag in tags["scalars"], tag
    assert "val/dsm_target_prediction_error" in tags["images"]
    assert any(tag.startswith("activations/") for tag in tags["images"])
    assert tags["graph"] is True
    assert "config/text_summary" in tags["tensors"]


def test_prediction_grid_layout():
    dsm = torch.rand(3, 1, 8, 8)
    valid = torch.ones_like(dsm, dtype=torch.bool)
    grid = prediction_grid(dsm, (dsm > 0.5).float(), valid, torch.randn(3, 1, 8, 8), max_samples=2)
    assert grid.shape == (3, 16, 32)
    assert 0.0 <= float(grid.min()) and float(grid.max()) <= 1.0


def test_a_graph_that_cannot_trace_leaves_the_model_training(tmp_path):
    from types import SimpleNamespace

    from torch.utils.tensorboard import SummaryWriter

    def refuse(*_args, **_kwargs):
        raise RuntimeError("untraceable")

    logger_cb = TensorBoardLogger(tmp_path / "tb")
    logger_cb.writer = SummaryWriter(log_dir=str(tmp_path / "tb"))
    logger_cb.writer.add_graph = refuse
    module = TinyModel().train()
    batch = {"dsm": torch.rand(2, 1, 8, 8), "threshold_m": torch.tensor([2.0, 5.0])}
    logger_cb._add_graph(SimpleNamespace(module=module, last_batch=batch))
    logger_cb.writer.close()
    assert module.training

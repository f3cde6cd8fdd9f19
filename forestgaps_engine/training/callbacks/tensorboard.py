"""TensorBoard: config, hparams, graph, scalars per phase and threshold, images, resources.

Writes under ``log_dir`` with ``torch.utils.tensorboard.SummaryWriter`` (rank 0 only). Run
``tensorboard --logdir <training.output_dir>/tensorboard`` to watch a run.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml
from torch import nn

from forestgaps_engine.models.summary import in_mode
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.callbacks.images import activation_grid, prediction_grid
from forestgaps_engine.training.callbacks.mlflow_logger import dotted_leaves
from forestgaps_engine.training.resources import ResourceMeter

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)


def default_activation_layer(model: nn.Module) -> str:
    """Name of the middle Conv2d of ``model`` (a mid-depth feature map is the telling one)."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    return names[len(names) // 2] if names else ""


class TensorBoardLogger(Callback):
    """Everything worth watching while a model trains.

    Args:
        log_dir: event-file folder.
        config: the full run config (pydantic), written as text and used for hparams.
        log_every_steps: optimizer steps between scalar/resource points.
        image_every_epochs: epochs between image grids.
        images_per_log: samples per grid.
        activation_layer: module name to hook (None: the middle Conv2d).
        activation_logs_per_run: how many epochs get an activation grid (spread evenly).
    """

    def __init__(
        self,
        log_dir: str | Path,
        config: Any = None,
        log_every_steps: int = 10,
        image_every_epochs: int = 1,
        images_per_log: int = 4,
        activation_layer: str | None = None,
        activation_logs_per_run: int = 3,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.config = config
        self.log_every_steps = max(1, log_every_steps)
        self.image_every_epochs = max(1, image_every_epochs)
        self.images_per_log = images_per_log
        self.activation_layer = activation_layer
        self.activation_logs_per_run = activation_logs_per_run
        self.writer = None
        self.meter = ResourceMeter()
        self._graph_done = False
        self._samples = 0.0
        self._since_s = time.perf_counter()

    def on_train_begin(self, trainer: Trainer) -> None:
        """Open the TensorBoard writer and log the config (main process)."""
        if not trainer.is_main_process:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.log_dir))
        if self.config is not None:
            text = yaml.safe_dump(self.config.model_dump(mode="json"), sort_keys=False)
            self.writer.add_text("config", "```\n" + text + "\n```", trainer.global_step)
        logger.info("TensorBoard logs in %s", self.log_dir)

    def _add_graph(self, trainer: Trainer) -> None:
        self._graph_done = True
        batch = trainer.last_batch
        try:
            inputs = (batch["dsm"][:1].float(), batch["threshold_m"][:1].float())
            # Tracer warnings about shape checks are noise here.
            with in_mode(trainer.module, False), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.writer.add_graph(trainer.module, inputs)
        except Exception as error:  # noqa: BLE001 - tracing is optional; many models do not trace
            logger.info("TensorBoard: model graph skipped (%s)", error)

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """Log training scalars every ``log_every_steps`` steps and the graph once."""
        if self.writer is None:
            return
        self._samples += logs.get("samples", 0.0)
        if not logs.get("is_optimizer_step"):
            return
        if not self._graph_done and trainer.last_batch is not None:
            rng_state = torch.get_rng_state()
            self._add_graph(trainer)
            torch.set_rng_state(rng_state)  # tracing runs the model; keep training's RNG intact
        step = trainer.global_step
        self.writer.add_scalar("train/grad_norm", logs["grad_norm"], step)
        if step % self.log_every_steps:
            return
        now_s = time.perf_counter()
        self.writer.add_scalar("train/loss", logs["loss"], step)
        self.writer.add_scalar("train/lr", logs["lr"], step)
        self.writer.add_scalar(
            "train/samples_per_s", self._samples / max(now_s - self._since_s, 1e-9), step
        )
        self._samples, self._since_s = 0.0, now_s
        for name, value in self.meter.sample().items():
            self.writer.add_scalar(f"resources/{name}", value, step)

    def on_validation_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Log validation metrics, per-threshold counts, sample images and activations."""
        if self.writer is None:
            return
        step = trainer.global_step
        for name, value in logs.items():
            metric = name.removeprefix("val_")
            group = "val_per_threshold" if "_t" in metric else "val"
            self.writer.add_scalar(f"{group}/{metric}", value, step)
        for threshold_m, counts in trainer.last_val_counts.items():
            for name, value in counts.to_dict().items():
                self.writer.add_scalar(f"val_counts/{name}_t{threshold_m:g}", value, step)
        batch, logits = trainer.last_val_batch, trainer.last_val_logits
        if batch is not None and logits is not None and epoch % self.image_every_epochs == 0:
            grid = prediction_grid(
                batch["dsm"], batch["mask"], batch["valid"], logits, self.images_per_log
            )
            self.writer.add_image("val/dsm_target_prediction_error", grid, step)
            if self._activation_due(trainer, epoch):
                self._log_activation(trainer, batch, step)
        self.writer.flush()

    def _activation_due(self, trainer: Trainer, epoch: int) -> bool:
        if self.activation_logs_per_run <= 0:
            return False
        every = max(1, trainer.config.epochs // self.activation_logs_per_run)
        return epoch % every == 0

    @torch.no_grad()
    def _log_activation(
        self, trainer: Trainer, batch: Mapping[str, torch.Tensor], step: int
    ) -> None:
        name = self.activation_layer or default_activation_layer(trainer.module)
        layer = dict(trainer.module.named_modules()).get(name)
        if layer is None:
            logger.warning("TensorBoard: no layer %r to hook for activations", name)
            self.activation_logs_per_run = 0
            return
        captured: list[torch.Tensor] = []
        handle = layer.register_forward_hook(lambda _m, _i, output: captured.append(output))
        try:
            with in_mode(trainer.module, False):
                trainer.forward({key: value[:1] for key, value in batch.items()})
        finally:
            handle.remove()
        if captured and isinstance(captured[0], torch.Tensor) and captured[0].dim() == 4:
            self.writer.add_image(f"activations/{name}", activation_grid(captured[0]), step)

    def on_train_end(self, trainer: Trainer) -> None:
        """Log hyperparameters with the final validation metrics and close the writer."""
        if self.writer is None:
            return
        final = trainer.history[-1] if trainer.history else {}
        metrics = {
            f"hparam/{k}": v for k, v in final.items() if k.startswith("val_") and "_t" not in k
        }
        self.writer.add_hparams(
            _flat_hparams(self.config),
            metrics or {"hparam/loss": final.get("loss", 0.0)},
            run_name=".",
        )
        self.writer.close()
        self.writer = None


def _flat_hparams(config: Any) -> dict[str, Any]:
    """Scalar leaves of the model and training sections, dotted keys."""
    if config is None:
        return {}
    dumped = config.model_dump(mode="json")
    sections = {section: dumped.get(section, {}) for section in ("model", "training")}
    leaves = dotted_leaves(sections).items()
    return {key: value for key, value in leaves if isinstance(value, bool | int | float | str)}

"""Record the learning rate of every optimizer step and log it at each epoch start."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from forestgaps_engine.training.callbacks.base import Callback

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)


class LearningRateMonitor(Callback):
    """Keeps ``(optimizer step, lr of each param group)`` in ``history``."""

    def __init__(self) -> None:
        self.history: list[tuple[int, list[float]]] = []

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Log each parameter group's learning rate (main process)."""
        lrs = [group["lr"] for group in trainer.optimizer.param_groups]
        if trainer.is_main_process:
            logger.info("epoch %d: lr %s", epoch + 1, ", ".join(f"{lr:.3g}" for lr in lrs))

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """Record the learning rates after each optimizer step."""
        if logs.get("is_optimizer_step"):
            lrs = [group["lr"] for group in trainer.optimizer.param_groups]
            self.history.append((trainer.global_step, lrs))

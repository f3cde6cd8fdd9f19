"""Stop when the monitored metric has not improved for a number of epochs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.callbacks.checkpoint import is_improvement

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)


class EarlyStopping(Callback):
    """Sets ``trainer.should_stop`` after ``patience_epochs`` epochs without improvement.

    Args:
        monitor: metric name in the epoch logs (``val_iou``...); absent -> never stops.
        mode: ``max`` or ``min``.
        patience_epochs: epochs without improvement tolerated.
        min_delta: smallest change that counts as an improvement.
    """

    def __init__(
        self,
        monitor: str = "val_iou",
        mode: Literal["max", "min"] = "max",
        patience_epochs: int = 10,
        min_delta: float = 0.0,
    ) -> None:
        self.monitor = monitor
        self.mode = mode
        self.patience_epochs = patience_epochs
        self.min_delta = min_delta
        self.best_value: float | None = None
        self.bad_epochs = 0
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Count epochs without improvement; stop after ``patience_epochs`` of them."""
        if self.monitor not in logs:
            return
        value = float(logs[self.monitor])
        shifted = value - self.min_delta if self.mode == "max" else value + self.min_delta
        if is_improvement(shifted, self.best_value, self.mode):
            self.best_value = value
            self.bad_epochs = 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience_epochs:
            trainer.should_stop = True
            self.stopped_epoch = epoch
            logger.info(
                "early stop after epoch %d: %s has not improved on %.4f for %d epochs",
                epoch + 1,
                self.monitor,
                self.best_value,
                self.bad_epochs,
            )

    def state_dict(self) -> dict[str, Any]:
        """Best value and epochs without improvement, for resuming."""
        return {"best_value": self.best_value, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the best value and bad-epoch count from ``state_dict``."""
        self.best_value = state["best_value"]
        self.bad_epochs = int(state["bad_epochs"])

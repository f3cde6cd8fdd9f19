"""Checkpoints: ``last.pt`` every epoch (and every N optimizer steps), ``best.pt`` on improvement.

Files hold :meth:`Trainer.state_dict` (plain tensors and dicts, written atomically), so
either one resumes a run exactly. Place this callback LAST in the list: the states of the
callbacks before it (early-stopping patience, for one) are then already updated for the
epoch being saved.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from forestgaps_engine.training import distributed
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.state import run_record, save_checkpoint

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

LAST_FILE = "last.pt"
BEST_FILE = "best.pt"


def is_improvement(value: float, best: float | None, mode: Literal["max", "min"]) -> bool:
    """Whether ``value`` beats ``best`` (NaN never does; anything beats None)."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if mode == "max" else value < best


class ModelCheckpoint(Callback):
    """Writes ``last.pt`` and ``best.pt`` into ``directory`` (rank 0 only).

    Args:
        directory: checkpoint folder (created on first save).
        monitor: metric deciding ``best`` (e.g. ``val_iou``; falls back to ``loss``
            when validation does not run).
        mode: ``max`` or ``min``.
        every_steps: also write ``last.pt`` every this many optimizer steps (0 = never).
    """

    def __init__(
        self,
        directory: str | Path,
        monitor: str = "val_iou",
        mode: Literal["max", "min"] = "max",
        every_steps: int = 0,
    ) -> None:
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = mode
        self.every_steps = every_steps
        self.best_value: float | None = None
        self.best_epoch: int | None = None

    @property
    def last_path(self) -> Path:
        """Where the latest state is written."""
        return self.directory / LAST_FILE

    @property
    def best_path(self) -> Path:
        """Where the best state is written."""
        return self.directory / BEST_FILE

    def _save(self, trainer: Trainer, paths: list[Path]) -> None:
        if trainer.is_main_process:
            # The precision and network go with the state, so a resume keeps the one and
            # refuses another network in one line (see state.check_resumable).
            state = {**trainer.state_dict(), **run_record(trainer.module, trainer.precision.name)}
            for path in paths:
                save_checkpoint(path, state)
            logger.debug(
                "checkpoint %s at step %d", ", ".join(p.name for p in paths), trainer.global_step
            )
        distributed.barrier(trainer.context)

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """Save ``last`` every ``every_steps`` optimizer steps."""
        if not self.every_steps or not logs.get("is_optimizer_step"):
            return
        if (
            trainer.global_step % self.every_steps == 0
            and trainer.next_batch < trainer.batches_per_epoch
        ):
            self._save(trainer, [self.last_path])

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Save ``last``, and ``best`` when the monitored value improved."""
        key = self.monitor if self.monitor in logs else "loss"
        mode = self.mode if key == self.monitor else "min"
        paths = [self.last_path]
        value = logs.get(key, math.nan)
        if is_improvement(value, self.best_value, mode):
            self.best_value, self.best_epoch = float(value), epoch
            paths.append(self.best_path)
            logger.info("epoch %d: new best %s = %.4f", epoch + 1, key, value)
        self._save(trainer, paths)

    def state_dict(self) -> dict[str, Any]:
        """Best monitored value and its epoch, for resuming."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the best value and epoch from ``state_dict``."""
        self.best_value = state["best_value"]
        self.best_epoch = state["best_epoch"]

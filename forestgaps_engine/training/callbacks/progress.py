"""Console progress: a live bar on a terminal, periodic log lines otherwise.

Shows the running loss, IoU and F1 of the epoch's training batches (logits > 0 against
the mask, valid pixels only) and the throughput in samples per second.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from forestgaps_engine.metrics.pixel import ConfusionCounts, confusion_counts
from forestgaps_engine.training.callbacks.base import Callback

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

BAR_WIDTH = 24


class ProgressDisplay(Callback):
    """Progress of each epoch (rank 0 only).

    Args:
        log_every_steps: batches between log lines when the stream is not a terminal.
        stream: where the bar goes (stderr by default); the bar is drawn only when it is
            a TTY, so logs and CI output stay clean.
    """

    def __init__(self, log_every_steps: int = 10, stream: TextIO | None = None) -> None:
        self.log_every_steps = max(1, log_every_steps)
        self.stream = stream or sys.stderr
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._reset()

    def _reset(self) -> None:
        self.counts = ConfusionCounts()
        self.loss_sum = 0.0
        self.batches = 0
        self.samples = 0.0
        self.started_s = time.perf_counter()

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Reset the running loss, counts and timer."""
        self._reset()

    def line(self, trainer: Trainer) -> str:
        """The current status text."""
        elapsed_s = max(time.perf_counter() - self.started_s, 1e-9)
        loss = self.loss_sum / max(self.batches, 1)
        return (
            f"epoch {trainer.epoch + 1}/{trainer.config.epochs} "
            f"batch {trainer.next_batch}/{trainer.batches_per_epoch} loss {loss:.4f} "
            f"iou {self.counts.iou:.3f} f1 {self.counts.f1:.3f} "
            f"{self.samples / elapsed_s:.1f} samples/s"
        )

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """Accumulate loss and confusion counts; print the status line every few steps."""
        if not trainer.is_main_process:
            return
        self.loss_sum += logs["loss"]
        self.batches += 1
        self.samples += logs.get("samples", 0.0)
        if trainer.last_batch is not None and trainer.last_logits is not None:
            batch = trainer.last_batch
            self.counts = self.counts + confusion_counts(
                trainer.last_logits > 0, batch["mask"], batch["valid"]
            )
        if self.is_tty:
            done = trainer.next_batch / max(trainer.batches_per_epoch, 1)
            filled = int(round(BAR_WIDTH * done))
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.line(trainer)}")
            self.stream.flush()
        elif self.batches % self.log_every_steps == 0:
            logger.info("%s", self.line(trainer))

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Print the epoch summary line: loss and validation metrics."""
        if not trainer.is_main_process:
            return
        if self.is_tty:
            self.stream.write("\n")
            self.stream.flush()
        parts = [f"epoch {epoch + 1}/{trainer.config.epochs}", f"loss {logs.get('loss', 0):.4f}"]
        parts += [
            f"{key} {logs[key]:.4f}" for key in ("val_loss", "val_iou", "val_f1") if key in logs
        ]
        logger.info("%s", " ".join(parts))

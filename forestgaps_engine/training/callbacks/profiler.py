"""``--profile N``: a torch.profiler trace of N training steps, viewable in TensorBoard.

The schedule waits one step (start-up noise), warms up one, then records ``active_steps``
and writes ``<log_dir>/<host>_<pid>.<time>.pt.trace.json`` with
``torch.profiler.tensorboard_trace_handler`` (rank 0 only). Open it in
https://ui.perfetto.dev or chrome://tracing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from forestgaps_engine.training.callbacks.base import Callback

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

WAIT_STEPS = 1
WARMUP_STEPS = 1


class ProfilerCallback(Callback):
    """Profiles ``active_steps`` training batches into ``log_dir``.

    Args:
        log_dir: folder of the trace (the run's TensorBoard folder).
        active_steps: batches recorded after the wait and warm-up batches.
    """

    def __init__(self, log_dir: str | Path, active_steps: int) -> None:
        self.log_dir = Path(log_dir)
        self.active_steps = active_steps
        self.profiler: torch.profiler.profile | None = None
        self._steps_left = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start the torch profiler for ``active_steps`` steps (main process)."""
        if not trainer.is_main_process or self.active_steps <= 0:
            return
        activities = [torch.profiler.ProfilerActivity.CPU]
        if trainer.device.type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.profiler = torch.profiler.profile(
            activities=activities,
            schedule=torch.profiler.schedule(
                wait=WAIT_STEPS, warmup=WARMUP_STEPS, active=self.active_steps, repeat=1
            ),
            on_trace_ready=torch.profiler.tensorboard_trace_handler(str(self.log_dir)),
            record_shapes=True,
            profile_memory=True,
        )
        self.profiler.start()
        self._steps_left = WAIT_STEPS + WARMUP_STEPS + self.active_steps
        logger.info(
            "profiling %d step(s) after %d wait + %d warm-up into %s",
            self.active_steps,
            WAIT_STEPS,
            WARMUP_STEPS,
            self.log_dir,
        )

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """Advance the profiler; stop it once its steps are done."""
        if self.profiler is None:
            return
        self.profiler.step()
        self._steps_left -= 1
        if self._steps_left <= 0:
            self._stop()

    def on_train_end(self, trainer: Trainer) -> None:
        """Stop the profiler if still running, writing what it recorded."""
        self._stop()

    def _stop(self) -> None:
        if self.profiler is None:
            return
        # Stopping before the active window ends (short epochs) still writes what was recorded.
        self.profiler.stop()
        self.profiler = None
        traces = sorted(self.log_dir.glob("*.pt.trace.json*"))
        if traces:
            logger.info("profiler trace written: %s", traces[-1])

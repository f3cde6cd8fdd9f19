"""Learning-rate schedules stepped once per optimizer step, with a linear warmup.

One class covers every schedule so the trainer calls the same two hooks whatever the
config says: ``step_batch()`` after each optimizer step and ``step_epoch(metric)`` after
validation (only ``plateau`` listens to it). Its state is a small dict for checkpoints.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from forestgaps_engine.config.training import SchedulerConfig
from forestgaps_engine.training.callbacks.checkpoint import is_improvement

ONECYCLE_DEFAULT_WARMUP_FRACTION = 0.3
ONECYCLE_START_DIVISOR = 25.0


class LrSchedule:
    """Sets every param group's lr to ``base_lr * factor(step)``.

    Args:
        optimizer: its groups' current lr is taken as the peak (base) lr.
        config: schedule name, warmup, floor and shape parameters.
        epochs: planned epochs.
        steps_per_epoch: optimizer steps per epoch (after gradient accumulation).
        monitor_mode: whether a larger (``max``) or smaller (``min``) metric is better
            (plateau only).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        config: SchedulerConfig,
        epochs: int,
        steps_per_epoch: int,
        monitor_mode: Literal["max", "min"] = "max",
    ) -> None:
        self.optimizer = optimizer
        self.config = config
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_steps = max(1, epochs * self.steps_per_epoch)
        self.monitor_mode = monitor_mode
        self.base_lrs = [group.get("initial_lr", group["lr"]) for group in optimizer.param_groups]
        for group, base_lr in zip(optimizer.param_groups, self.base_lrs, strict=True):
            group["initial_lr"] = base_lr
        self.warmup_steps = min(config.warmup_epochs * self.steps_per_epoch, self.total_steps)
        if config.name == "onecycle" and config.warmup_epochs == 0:
            self.warmup_steps = max(1, int(ONECYCLE_DEFAULT_WARMUP_FRACTION * self.total_steps))
        self.step_count = 0
        self.plateau_scale = 1.0
        self.best_metric: float | None = None
        self.bad_epochs = 0
        self._apply()

    def factor(self, step: int, base_lr: float) -> float:
        """Multiplier of ``base_lr`` at optimizer step ``step`` (0-based), before plateau."""
        config = self.config
        floor = min(config.min_lr / base_lr, 1.0) if base_lr > 0 else 0.0
        if step < self.warmup_steps:
            if config.name == "onecycle":  # starts at lr / 25 like torch's OneCycleLR
                start = 1.0 / ONECYCLE_START_DIVISOR
                return start + (1.0 - start) * step / self.warmup_steps
            return floor + (1.0 - floor) * (step + 1) / self.warmup_steps
        after = step - self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, after / span)
        if config.name == "onecycle":
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if config.name == "cosine_restarts":
            period = config.restart_epochs * self.steps_per_epoch
            phase = (after % period) / period
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * phase))
        if config.name == "poly":
            return floor + (1.0 - floor) * (1.0 - progress) ** config.poly_power
        return 1.0  # constant and plateau

    def current_lrs(self) -> list[float]:
        """The lr of each param group now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def _apply(self) -> None:
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            lr = base_lr * self.factor(self.step_count, base_lr) * self.plateau_scale
            group["lr"] = max(lr, min(self.config.min_lr, base_lr))

    def step_batch(self) -> None:
        """Advance one optimizer step."""
        self.step_count += 1
        self._apply()

    def step_epoch(self, metric: float | None) -> None:
        """End of an epoch: ``plateau`` scales the lr down after ``patience`` bad epochs."""
        if self.config.name != "plateau" or metric is None or math.isnan(metric):
            return
        if is_improvement(metric, self.best_metric, self.monitor_mode):
            self.best_metric = metric
            self.bad_epochs = 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.config.plateau_patience_epochs:
            self.plateau_scale *= self.config.plateau_factor
            self.bad_epochs = 0
            self._apply()

    def state_dict(self) -> dict:
        """Plain values for a checkpoint."""
        return {
            "step_count": self.step_count,
            "plateau_scale": self.plateau_scale,
            "best_metric": self.best_metric,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict` and set the lr accordingly."""
        self.step_count = int(state["step_count"])
        self.plateau_scale = float(state["plateau_scale"])
        self.best_metric = state["best_metric"]
        self.bad_epochs = int(state["bad_epochs"])
        self._apply()

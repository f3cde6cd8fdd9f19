"""Dropout and drop-path schedules, and regularization that strengthens when a run overfits.

Models expose dropout and stochastic depth through their own modules (``nn.Dropout*``,
:class:`~forestgaps_engine.models.blocks.drop_path.DropPath`); this callback sets their
probabilities at every epoch start, so models need no schedule hook. Module probabilities
are not in ``state_dict()``, so the callback keeps what it added in its own state: a resumed
run sets the same values again. Weight decay lives in the optimizer's parameter groups,
which the optimizer's own checkpointed state restores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from forestgaps_engine.config.training import RegularizationConfig
from forestgaps_engine.models.blocks.drop_path import DropPath, drop_path_rates
from forestgaps_engine.training.callbacks.base import Callback

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

DROPOUT_TYPES = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel / DataParallel wrappers."""
    while isinstance(getattr(model, "module", None), nn.Module):
        model = model.module
    return model


def dropout_modules(model: nn.Module) -> list[nn.Module]:
    """Every dropout layer of ``model``, in module order."""
    return [m for m in unwrap(model).modules() if isinstance(m, DROPOUT_TYPES)]


def drop_path_modules(model: nn.Module) -> list[DropPath]:
    """Every DropPath of ``model``, in module order (shallow to deep)."""
    return [m for m in unwrap(model).modules() if isinstance(m, DropPath)]


def set_dropout(model: nn.Module, probability: float) -> int:
    """Set ``p`` of every dropout layer; returns how many were set."""
    modules = dropout_modules(model)
    for module in modules:
        module.p = probability
    return len(modules)


def set_drop_path(model: nn.Module, max_rate: float) -> int:
    """Depth-scaled rates, 0 (first block) to ``max_rate`` (last), as models build them."""
    modules = drop_path_modules(model)
    for module, rate in zip(modules, drop_path_rates(max_rate, len(modules)), strict=True):
        module.rate = rate
    return len(modules)


class RegularizationCallback(Callback):
    """Applies ``training.regularization`` to the trainer's model and optimizer.

    Each epoch begins with dropout = schedule (or the model's built value) + what adaptive
    strengthening added, and likewise for the deepest drop-path rate. With ``adaptive``
    enabled, each epoch end compares ``val_loss - loss`` with ``gap_threshold``; after
    ``patience_epochs`` epochs over it in a row, the additions grow by ``probability_step``
    and decayed parameter groups' weight decay by ``weight_decay_factor`` (all capped).
    Place it before the checkpoint callback so a saved epoch holds the updated state.

    Args:
        config: the ``training.regularization`` section.
    """

    def __init__(self, config: RegularizationConfig) -> None:
        self.config = config
        self.dropout_added = 0.0
        self.drop_path_added = 0.0
        self.gap_epochs = 0
        self.strengthen_count = 0
        self._built_dropout: float | None = None
        self._built_drop_path: float | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Record the model's built dropout and drop-path rates, the base when unscheduled."""
        # Module values before any change: the model's params (p is not checkpointed).
        dropouts = dropout_modules(trainer.module)
        drop_paths = drop_path_modules(trainer.module)
        self._built_dropout = max((m.p for m in dropouts), default=0.0)
        self._built_drop_path = max((m.rate for m in drop_paths), default=0.0)
        if trainer.is_main_process and (self.config.adaptive.enabled or self._has_schedule()):
            logger.info(
                "regularization: %d dropout layer(s), %d drop-path block(s)",
                len(dropouts),
                len(drop_paths),
            )

    def _has_schedule(self) -> bool:
        return self.config.dropout_schedule.enabled or self.config.drop_path_schedule.enabled

    def dropout_at(self, epoch: int) -> float:
        """Dropout probability applied during ``epoch`` (0-based)."""
        schedule = self.config.dropout_schedule
        base = schedule.value_at(epoch) if schedule.enabled else (self._built_dropout or 0.0)
        if self.dropout_added <= 0:
            return base
        # The cap bounds what strengthening adds, never a scheduled value above it.
        return min(base + self.dropout_added, max(self.config.adaptive.max_dropout, base))

    def drop_path_at(self, epoch: int) -> float:
        """Deepest block's drop-path rate applied during ``epoch`` (0-based)."""
        schedule = self.config.drop_path_schedule
        base = schedule.value_at(epoch) if schedule.enabled else (self._built_drop_path or 0.0)
        if self.drop_path_added <= 0:
            return base
        # The cap bounds what strengthening adds, never a scheduled value above it.
        return min(base + self.drop_path_added, max(self.config.adaptive.max_drop_path, base))

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Set dropout and drop-path rates for ``epoch``."""
        if self._has_schedule() or self.dropout_added > 0:
            set_dropout(trainer.module, self.dropout_at(epoch))
        if self._has_schedule() or self.drop_path_added > 0:
            set_drop_path(trainer.module, self.drop_path_at(epoch))

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Strengthen regularization when val_loss - loss stays over the gap threshold."""
        adaptive = self.config.adaptive
        if adaptive.enabled and "val_loss" in logs and "loss" in logs:
            gap = float(logs["val_loss"]) - float(logs["loss"])
            self.gap_epochs = self.gap_epochs + 1 if gap > adaptive.gap_threshold else 0
            if self.gap_epochs >= adaptive.patience_epochs:
                self.gap_epochs = 0
                self._strengthen(trainer, epoch, gap)
        if adaptive.enabled or self._has_schedule():
            self._log_scalars(trainer, epoch)

    def _strengthen(self, trainer: Trainer, epoch: int, gap: float) -> None:
        adaptive = self.config.adaptive
        changes: list[str] = []
        dropout_before, drop_path_before = self.dropout_at(epoch + 1), self.drop_path_at(epoch + 1)
        if dropout_modules(trainer.module):
            self.dropout_added += adaptive.probability_step
            self.dropout_added = min(self.dropout_added, max(0.0, adaptive.max_dropout))
            if self.dropout_at(epoch + 1) > dropout_before:
                changes.append(f"dropout {dropout_before:.3g} -> {self.dropout_at(epoch + 1):.3g}")
        if drop_path_modules(trainer.module):
            self.drop_path_added += adaptive.probability_step
            self.drop_path_added = min(self.drop_path_added, max(0.0, adaptive.max_drop_path))
            if self.drop_path_at(epoch + 1) > drop_path_before:
                changes.append(
                    f"drop path {drop_path_before:.3g} -> {self.drop_path_at(epoch + 1):.3g}"
                )
        for index, group in enumerate(trainer.optimizer.param_groups):
            decay = float(group.get("weight_decay", 0.0))
            if decay <= 0:
                continue  # norms and biases stay undecayed
            raised = min(decay * adaptive.weight_decay_factor, adaptive.max_weight_decay)
            if raised > decay:
                group["weight_decay"] = raised
                changes.append(f"weight decay[group {index}] {decay:.3g} -> {raised:.3g}")
        if not changes:
            if trainer.is_main_process:
                logger.info(
                    "epoch %d: val_loss - loss = %.4f, but regularization is at its caps",
                    epoch + 1,
                    gap,
                )
            return
        self.strengthen_count += 1
        if trainer.is_main_process:
            logger.info(
                "regularization strengthened (epoch %d, val_loss - loss = %.4f > %.4g for %d "
                "epochs): %s",
                epoch + 1,
                gap,
                adaptive.gap_threshold,
                adaptive.patience_epochs,
                ", ".join(changes),
            )

    def _log_scalars(self, trainer: Trainer, epoch: int) -> None:
        writer = next(
            (
                getattr(c, "writer", None)
                for c in trainer.callbacks.callbacks
                if getattr(c, "writer", None) is not None
            ),
            None,
        )
        if writer is None:
            return
        step = trainer.global_step
        writer.add_scalar("regularization/dropout", self.dropout_at(epoch + 1), step)
        writer.add_scalar("regularization/drop_path", self.drop_path_at(epoch + 1), step)
        decays = [g.get("weight_decay", 0.0) for g in trainer.optimizer.param_groups]
        writer.add_scalar("regularization/weight_decay", max(decays, default=0.0), step)

    def state_dict(self) -> dict[str, Any]:
        """Added dropout/drop-path and adaptive counters, for resuming."""
        return {
            "dropout_added": self.dropout_added,
            "drop_path_added": self.drop_path_added,
            "gap_epochs": self.gap_epochs,
            "strengthen_count": self.strengthen_count,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the added rates and counters from ``state_dict``."""
        self.dropout_added = float(state["dropout_added"])
        self.drop_path_added = float(state["drop_path_added"])
        self.gap_epochs = int(state["gap_epochs"])
        self.strengthen_count = int(state["strengthen_count"])

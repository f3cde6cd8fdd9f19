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


def dropout_modules(model: nn.Module) -> list[nn.Module]:
    """Every dropout layer of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, DROPOUT_TYPES)]


def drop_path_modules(model: nn.Module) -> list[DropPath]:
    """Every DropPath of ``model``, in module order (shallow to deep)."""
    return [m for m in model.modules() if isinstance(m, DropPath)]


def set_dropout(model: nn.Module, probability: float) -> None:
    """Set ``p`` of every dropout layer."""
    for module in dropout_modules(model):
        module.p = probability


def set_drop_path(model: nn.Module, max_rate: float) -> None:
    """Depth-scaled rates, 0 (first block) to ``max_rate`` (last), as models build them."""
    modules = drop_path_modules(model)
    for module, rate in zip(modules, drop_path_rates(max_rate, len(modules)), strict=True):
        module.rate = rate


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

    def rate_at(self, kind: str, epoch: int) -> float:
        """The ``dropout`` probability or deepest ``drop_path`` rate during ``epoch`` (0-based).

        Each kind reads its own fields: ``config.<kind>_schedule``,
        ``config.adaptive.max_<kind>``, ``<kind>_added``.
        """
        schedule = getattr(self.config, f"{kind}_schedule")
        built = getattr(self, f"_built_{kind}") or 0.0
        base = schedule.value_at(epoch) if schedule.enabled else built
        added = getattr(self, f"{kind}_added")
        if added <= 0:
            return base
        # The cap bounds what strengthening adds, never a scheduled value above it.
        return min(base + added, max(getattr(self.config.adaptive, f"max_{kind}"), base))

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Set dropout and drop-path rates for ``epoch``."""
        for kind, set_rate in (("dropout", set_dropout), ("drop_path", set_drop_path)):
            if self._has_schedule() or getattr(self, f"{kind}_added") > 0:
                set_rate(trainer.module, self.rate_at(kind, epoch))

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
        for kind, modules in (("dropout", dropout_modules), ("drop_path", drop_path_modules)):
            if not modules(trainer.module):
                continue
            before = self.rate_at(kind, epoch + 1)
            added = getattr(self, f"{kind}_added") + adaptive.probability_step
            setattr(self, f"{kind}_added", min(added, max(0.0, getattr(adaptive, f"max_{kind}"))))
            after = self.rate_at(kind, epoch + 1)
            if after > before:
                changes.append(f"{kind.replace('_', ' ')} {before:.3g} -> {after:.3g}")
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
        writers = [getattr(c, "writer", None) for c in trainer.callbacks.callbacks]
        writer = next((w for w in writers if w is not None), None)
        if writer is None:
            return
        step = trainer.global_step
        for kind in ("dropout", "drop_path"):
            writer.add_scalar(f"regularization/{kind}", self.rate_at(kind, epoch + 1), step)
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

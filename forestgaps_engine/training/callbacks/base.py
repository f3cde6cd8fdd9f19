"""The callback protocol: named hooks the trainer calls, and a list that fans them out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer


class Callback:
    """Base class: override the hooks you need; every hook is a no-op here.

    ``logs`` hold plain floats: ``loss``, ``lr``, ``grad_norm`` after a batch (with
    ``is_optimizer_step``), validation metrics such as ``val_iou`` / ``val_iou_t5`` after
    validation and at the end of an epoch. A callback stops training by setting
    ``trainer.should_stop = True``. ``state_dict``/``load_state_dict`` let a callback's
    memory (best score, patience) survive a resume.
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch (after a resume has been restored)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch or an early stop (not called when training raises)."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Before the first batch of ``epoch`` (0-based)."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """After training and validation of ``epoch``."""

    def on_batch_begin(self, trainer: Trainer, batch_index: int) -> None:
        """Before micro-batch ``batch_index`` of the epoch."""

    def on_batch_end(self, trainer: Trainer, batch_index: int, logs: Mapping[str, float]) -> None:
        """After micro-batch ``batch_index`` (and its optimizer step, if one happened)."""

    def on_validation_begin(self, trainer: Trainer, epoch: int) -> None:
        """Before validating ``epoch``."""

    def on_validation_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """After validating ``epoch``; ``logs`` hold ``val_*`` metrics."""

    def state_dict(self) -> dict[str, Any]:
        """Plain values to store in checkpoints."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""


def _fan_out(hook: str) -> Any:
    """A ``CallbackList`` method that calls ``hook`` on every callback, in order."""

    def call_every(self: CallbackList, *args: Any, **kwargs: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args, **kwargs)

    call_every.__name__ = call_every.__qualname__ = hook
    call_every.__doc__ = f"Call every callback's ``{hook}``."
    return call_every


class CallbackList(Callback):
    """Calls each hook on every callback in order; state is keyed by class name."""

    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    on_train_begin = _fan_out("on_train_begin")
    on_train_end = _fan_out("on_train_end")
    on_epoch_begin = _fan_out("on_epoch_begin")
    on_epoch_end = _fan_out("on_epoch_end")
    on_batch_begin = _fan_out("on_batch_begin")
    on_batch_end = _fan_out("on_batch_end")
    on_validation_begin = _fan_out("on_validation_begin")
    on_validation_end = _fan_out("on_validation_end")

    def state_dict(self) -> dict[str, Any]:
        """Each callback's state, keyed by its class name."""
        return {type(c).__name__: c.state_dict() for c in self.callbacks}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore each callback whose class name is in ``state``."""
        for callback in self.callbacks:
            if type(callback).__name__ in state:
                callback.load_state_dict(state[type(callback).__name__])

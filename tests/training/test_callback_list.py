"""CallbackList hands every hook of the protocol to each callback, in order."""

from __future__ import annotations

import inspect

from forestgaps_engine.training.callbacks.base import Callback, CallbackList

HOOKS = [name for name, _ in inspect.getmembers(Callback) if name.startswith("on_")]


class Recorder(Callback):
    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    def __getattribute__(self, attribute: str):  # noqa: ANN204 - records any hook
        if attribute.startswith("on_"):
            return lambda *args, **kwargs: self.calls.append((self.name, attribute, args, kwargs))
        return super().__getattribute__(attribute)


def test_every_hook_reaches_every_callback_in_order() -> None:
    calls: list = []
    callbacks = CallbackList([Recorder("first", calls), Recorder("second", calls)])
    trainer = object()
    for hook in HOOKS:
        getattr(callbacks, hook)(trainer, 3, logs={"loss": 0.5})
    expected = [
        (name, hook, (trainer, 3), {"logs": {"loss": 0.5}})
        for hook in HOOKS
        for name in ("first", "second")
    ]
    assert len(HOOKS) == 8 and calls == expected
    assert CallbackList.on_batch_end.__name__ == "on_batch_end"
    assert "on_batch_end" in (CallbackList.on_batch_end.__doc__ or "")

"""SIGTERM and SIGINT end a run alike: temporary files go, finished outputs stay whole.

``timeout``, SLURM, systemd and ``docker stop`` send SIGTERM, whose default action kills
the process at once and leaves its ``.partial`` files behind. ``install_stop_handlers``
turns SIGTERM (and SIGHUP) into ``Stopped``, a ``KeyboardInterrupt``, so every
``except BaseException`` cleanup runs as it does on Ctrl-C; a second signal during that
cleanup removes the registered temporary paths at once and exits.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from forestgaps_engine import partials

_HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """The process was asked to stop by a signal.

    Attributes:
        signal_number: the signal received.
        exit_code: 128 + the signal number (143 for SIGTERM, 130 for SIGINT).
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signal_number).name}")
        self.signal_number = signal_number
        self.exit_code = 128 + signal_number


def exit_code_of(interrupt: KeyboardInterrupt) -> int:
    """The shell's exit code for ``interrupt``: 128 + signal, 130 for a plain Ctrl-C."""
    return getattr(interrupt, "exit_code", 128 + signal.SIGINT)


# The first stop signal received; a second one finds it set.
_stop_signal: int | None = None


def _on_signal(signal_number: int, _frame: FrameType | None) -> None:
    global _stop_signal
    if _stop_signal is not None:
        # Asked twice: the cleanup in progress may be stuck; do its part and leave.
        partials.remove_live()
        os._exit(128 + signal_number)
    _stop_signal = signal_number
    raise Stopped(signal_number)


def raise_if_stopped() -> None:
    """Raise ``Stopped`` again in the main thread when a stop signal has arrived.

    The handler's exception can be lost: C code that clears Python errors swallows it
    (GDAL's SWIG module does while ``osgeo`` is first imported), and the run would go on
    to the end. Engine loops call this between units of work (``progress.Reporter``).
    """
    if _stop_signal is not None and threading.current_thread() is threading.main_thread():
        raise Stopped(_stop_signal)


def install_stop_handlers() -> bool:
    """Route SIGTERM, SIGINT and SIGHUP to ``Stopped`` (main thread only).

    Returns:
        False when not called from the main thread (Python allows handlers only there).
    """
    global _stop_signal
    if threading.current_thread() is not threading.main_thread():
        return False
    _stop_signal = None
    for signal_number in _HANDLED:
        signal.signal(signal_number, _on_signal)
    return True

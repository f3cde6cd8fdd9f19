"""The progress/cancel protocol every long engine call accepts (CLI, plugin, server alike).

``progress(fraction, message)`` receives 0..1 and a short human message; ``cancel()``
returns True when the caller wants the job stopped. Engine loops call ``Reporter.check()``
between units of work; it raises ``CancelledError`` so outputs are cleaned up by the
atomic writers on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from forestgaps_engine import signals
from forestgaps_engine.errors import CancelledError

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]

logger = logging.getLogger(__name__)


class Reporter:
    """Maps sub-steps onto a 0..1 range and relays cancel requests.

    Args:
        progress: callback for (fraction, message), or None.
        cancel: callback returning True to cancel, or None.
        start: fraction at which this reporter's range begins.
        span: width of this reporter's range.
    """

    def __init__(
        self,
        progress: ProgressCallback | None = None,
        cancel: CancelCallback | None = None,
        start: float = 0.0,
        span: float = 1.0,
    ) -> None:
        self._progress = progress
        self._cancel = cancel
        self._start = start
        self._span = span

    def check(self) -> None:
        """Raise CancelledError if the caller asked to stop (Stopped after a signal)."""
        signals.raise_if_stopped()
        if self._cancel is not None and self._cancel():
            raise CancelledError("cancelled by the user")

    def report(self, fraction: float, message: str) -> None:
        """Report progress within this reporter's range, then honour a pending cancel."""
        fraction = min(1.0, max(0.0, fraction))
        logger.debug("progress %.0f%% %s", 100 * (self._start + self._span * fraction), message)
        if self._progress is not None:
            self._progress(self._start + self._span * fraction, message)
        self.check()

    def sub(self, start: float, span: float) -> Reporter:
        """A reporter for a sub-step occupying [start, start + span] of this one."""
        return Reporter(
            self._progress, self._cancel, self._start + self._span * start, self._span * span
        )

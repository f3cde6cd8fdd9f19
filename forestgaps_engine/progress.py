"""The progress/cancel protocol every long engine call accepts (CLI, plugin, server alike).

``progress(fraction, message)`` receives 0..1 and a short human message; ``cancel()``
returns True when the caller wants the job stopped. Engine loops call ``Reporter.check()``
between units of work; it raises ``CancelledError`` so outputs are cleaned up by the
atomic writers on the way out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from forestgaps_engine import signals
from forestgaps_engine.errors import CancelledError

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reporter:
    """Maps sub-steps onto a 0..1 range and relays cancel requests.

    Attributes:
        progress: callback for (fraction, message), or None.
        cancel: callback returning True to cancel, or None.
        start: fraction at which this reporter's range begins.
        span: width of this reporter's range.
    """

    progress: ProgressCallback | None = None
    cancel: CancelCallback | None = None
    start: float = 0.0
    span: float = 1.0

    def check(self) -> None:
        """Raise CancelledError if the caller asked to stop (Stopped after a signal)."""
        signals.raise_if_stopped()
        if self.cancel is not None and self.cancel():
            raise CancelledError("cancelled by the user")

    def report(self, fraction: float, message: str) -> None:
        """Report progress within this reporter's range, then honour a pending cancel."""
        overall = self.start + self.span * min(1.0, max(0.0, fraction))
        logger.debug("progress %.0f%% %s", 100 * overall, message)
        if self.progress is not None:
            self.progress(overall, message)
        self.check()

    def sub(self, start: float, span: float) -> Reporter:
        """A reporter for a sub-step occupying [start, start + span] of this one."""
        return Reporter(self.progress, self.cancel, self.start + self.span * start, self.span * span)

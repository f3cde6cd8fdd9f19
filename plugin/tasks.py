"""``GapDetectionTask``: a QgsTask running one detection in the background.

``run()`` (worker thread) calls :func:`detection.run_detection` with progress wired to
``setProgress`` and cancel to ``isCanceled``, and turns every exception into a
:class:`TaskOutcome` (never raises). ``finished()`` (main thread) hands the outcome to a
delegate, which loads layers and reports; the task itself touches no GUI.

The panel's log gets each distinct progress message once (the engine reports after every
batch, with the row's message repeated) and what the engine logs during the run at INFO
and above on this task's thread (warps onto a metric grid, resampling, backend choice).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .detection import DetectionResult, run_detection
from .dock.params import InferenceParams
from .messages import qgis_words, summary_line, traceback_text

logger = logging.getLogger(__name__)

Status = Literal["success", "failed", "cancelled"]
CANCELLED_MESSAGE = "Gap detection was cancelled; nothing was written."


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended: ``result`` on success, else what to tell the user.

    Attributes:
        message: the engine's message, in QGIS words (fields, not CLI flags).
        hint: how to fix it, in QGIS words.
        summary: the one line the message bar and the panel show ("message (hint: ...)").
        details: the traceback, for bugs only (a ForestGapsError is the user's to fix).
    """

    status: Status
    params: InferenceParams
    result: DetectionResult | None = None
    message: str = ""
    hint: str = ""
    details: str = ""
    summary: str = ""


def outcome_of_error(params: InferenceParams, error: BaseException) -> TaskOutcome:
    """The failed (or cancelled) outcome for ``error``, in the words of the panel."""
    from forestgaps_engine.errors import CancelledError, ForestGapsError

    if isinstance(error, CancelledError):
        return TaskOutcome(
            "cancelled", params, message=CANCELLED_MESSAGE, summary=CANCELLED_MESSAGE
        )
    if isinstance(error, ForestGapsError):
        return TaskOutcome(
            "failed",
            params,
            message=qgis_words(error.message),
            hint=qgis_words(error.hint),
            summary=summary_line(error),
        )
    line = summary_line(error)
    return TaskOutcome("failed", params, message=line, summary=line, details=traceback_text(error))


class _RunLogRelay(logging.Handler):
    """Relays the engine's records of one thread to ``emit_line`` (the panel's log)."""

    def __init__(self, emit_line: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.thread_id = threading.get_ident()
        self.emit_line = emit_line
        self.relayed: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        # Another job (a Processing algorithm) may log from its own thread at the same time.
        if record.thread != self.thread_id:
            return
        try:
            line = qgis_words(record.getMessage())
            # A geographic DSM is viewed on the metric grid twice (model, then gap areas)
            # and the engine says so each time; the panel says it once.
            if line not in self.relayed:
                self.relayed.add(line)
                self.emit_line(line)
        except Exception:  # a log line must never break the run that wrote it
            self.handleError(record)


@contextmanager
def relayed_engine_log(emit_line: Callable[[str], None]) -> Iterator[None]:
    """Send the engine's INFO+ records of this thread to ``emit_line`` while in the block.

    The handler is removed on the way out, so a second run does not print its lines twice.
    """
    engine_logger = logging.getLogger("forestgaps_engine")
    relay = _RunLogRelay(emit_line)
    previous_level = engine_logger.level
    if engine_logger.getEffectiveLevel() > logging.INFO:
        engine_logger.setLevel(logging.INFO)
    engine_logger.addHandler(relay)
    try:
        yield
    finally:
        engine_logger.removeHandler(relay)
        engine_logger.setLevel(previous_level)


class GapDetectionTask(QgsTask):
    """Detect gaps for ``params``; ``on_finished(outcome)`` is called on the main thread.

    Args:
        params: the checked parameters from the dock.
        on_finished: delegate receiving the :class:`TaskOutcome`.
    """

    # Progress text from the worker thread; Qt queues it to the receiver's thread.
    messageChanged = pyqtSignal(str)  # noqa: N815 (Qt signal naming)

    def __init__(self, params: InferenceParams, on_finished: Callable[[TaskOutcome], None]) -> None:
        super().__init__(f"ForestGaps: gaps in {params.display_name}", QgsTask.Flag.CanCancel)
        self.params = params
        self.on_finished = on_finished
        self.outcome: TaskOutcome | None = None
        self._last_message = ""

    def _progress(self, fraction: float, message: str) -> None:
        self.setProgress(max(0.0, min(100.0, 100.0 * fraction)))
        # The engine reports after every batch; a row of five batches repeats its message.
        if message and message != self._last_message:
            self._last_message = message
            self.messageChanged.emit(message)

    def run(self) -> bool:  # name fixed by QGIS; worker thread
        """Run the detection; every exception becomes the outcome, none escapes."""
        try:
            with relayed_engine_log(self.messageChanged.emit):
                result = run_detection(self.params, self._progress, self.isCanceled)
            self.outcome = TaskOutcome("success", self.params, result=result)
        except BaseException as error:  # boundary: a task must never raise into QGIS
            logger.debug("gap detection ended with %r", error)
            self.outcome = outcome_of_error(self.params, error)
        return self.outcome.status == "success"

    def finished(self, result: bool) -> None:  # name fixed by QGIS; main thread
        """Hand the outcome to the delegate (also when QGIS cancelled before run())."""
        outcome = self.outcome
        if outcome is None:
            outcome = TaskOutcome("cancelled", self.params, message=CANCELLED_MESSAGE)
        self.on_finished(outcome)

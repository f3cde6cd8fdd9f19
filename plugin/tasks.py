"""``GapDetectionTask``: a QgsTask running one detection in the background.

``run()`` (worker thread) calls :func:`detection.run_detection` with progress wired to
``setProgress`` and cancel to ``isCanceled``, and turns every exception into a
:class:`TaskOutcome` (never raises). ``finished()`` (main thread) hands the outcome to a
delegate, which loads layers and reports; the task itself touches no GUI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .detection import DetectionResult, run_detection
from .dock.params import InferenceParams

logger = logging.getLogger(__name__)

Status = Literal["success", "failed", "cancelled"]
CANCELLED_MESSAGE = "Gap detection was cancelled; nothing was written."


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended: ``result`` on success, ``message``/``hint``/``details`` otherwise."""

    status: Status
    params: InferenceParams
    result: DetectionResult | None = None
    message: str = ""
    hint: str = ""
    details: str = ""


def outcome_of_error(params: InferenceParams, error: BaseException) -> TaskOutcome:
    """The failed (or cancelled) outcome for ``error``, with the engine's message and hint."""
    from forestgaps_engine.errors import CancelledError, ErrorHandler

    report = ErrorHandler().report(error)
    if isinstance(error, CancelledError):
        return TaskOutcome("cancelled", params, message=CANCELLED_MESSAGE, hint=report.hint)
    return TaskOutcome(
        "failed", params, message=report.message, hint=report.hint, details=report.details
    )


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

    def _progress(self, fraction: float, message: str) -> None:
        self.setProgress(max(0.0, min(100.0, 100.0 * fraction)))
        if message:
            self.messageChanged.emit(message)

    def run(self) -> bool:  # name fixed by QGIS; worker thread
        """Run the detection; every exception becomes the outcome, none escapes."""
        try:
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

"""Wires the dock to background tasks: Run -> GapDetectionTask -> layers and report.

The dock only emits parameters; this owns the running task, forwards progress and
cancel, and on the main thread hands the outcome to ``layers.show_outcome``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt import sip

from .dock.dock_widget import ForestGapsDock
from .dock.params import InferenceParams
from .layers import show_outcome
from .tasks import GapDetectionTask, TaskOutcome
from .translation import tr

logger = logging.getLogger(__name__)


class DetectionRunner:
    """Runs the dock's requests one at a time through QGIS's task manager.

    Args:
        dock: the panel whose Run/Cancel to serve.
        iface: the QgisInterface (message bar).
        project: where result layers go (default: the current project).
        on_outcome: optional extra delegate called after the outcome was shown.
    """

    def __init__(
        self,
        dock: ForestGapsDock,
        iface: Any,
        project: QgsProject | None = None,
        on_outcome: Callable[[TaskOutcome], None] | None = None,
    ) -> None:
        self.dock = dock
        self.iface = iface
        self.project = project
        self.on_outcome = on_outcome
        self.task: GapDetectionTask | None = None
        self.last_outcome: TaskOutcome | None = None
        dock.runRequested.connect(self.start)
        dock.cancelRequested.connect(self.cancel)

    def start(self, params: InferenceParams) -> GapDetectionTask | None:
        """Queue a task for ``params`` (refused while one is running)."""
        if self.task is not None:
            self.dock.log(tr("A detection is already running; cancel it or wait."))
            return None
        task = GapDetectionTask(params, self._finished)
        task.progressChanged.connect(self._progress)
        task.messageChanged.connect(self.dock.log)
        self.task = task
        self.dock.set_running(True)
        self.dock.log(
            tr("Started: {0}, thresholds {1} m, model {2}").format(
                params.display_name, ", ".join(f"{t:g}" for t in params.thresholds_m), params.model
            )
        )
        if params.server_url:
            self.dock.log(
                tr("The model runs on the ForestGaps server {0}.").format(params.server_url)
            )
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel(self) -> None:
        """Ask the running task to stop (the engine checks between batches)."""
        if self.task is not None:
            self.dock.log(tr("Cancelling…"))
            self.task.cancel()

    def _progress(self, value: float) -> None:
        # Queued progress may arrive after finished(), when the panel may already be gone.
        if self.task is not None and not sip.isdeleted(self.dock):
            self.dock.progress_bar.setValue(int(value))

    def _finished(self, outcome: TaskOutcome) -> None:
        self.task = None
        self.last_outcome = outcome
        self.dock.set_running(False)
        if outcome.result is not None:
            for note in outcome.result.notes:
                self.dock.log(note)
        text = show_outcome(outcome, self.iface, self.project)
        self.dock.log(text)
        if outcome.status == "success":
            self.dock.progress_bar.setValue(100)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

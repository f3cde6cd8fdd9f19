"""The panel's "Compare dates" section: two CHM layers, thresholds, Run.

Run starts a ``CompareDatesTask`` (a QgsTask) that calls the engine's ``gap_change`` and
then ``gap_pattern`` on the new gaps of the lowest threshold. When it ends (main thread),
the change classes and gap events come back as a styled layer group and the K/L plot
opens as an image in a small window; a failure is one line in the section's status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsRasterLayer,
    QgsTask,
    QgsVectorLayer,
)
from qgis.gui import QgsCollapsibleGroupBox, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..messages import summary_line
from ..resources import style_path
from ..translation import tr
from .params import parse_thresholds

logger = logging.getLogger(__name__)

GROUP_PREFIX = "ForestGaps – change "
DEFAULT_THRESHOLDS_TEXT = "5, 10"


@dataclass(frozen=True)
class CompareDatesParams:
    """What the section hands to its task.

    Attributes:
        before_path: first-date CHM file.
        after_path: second-date CHM file.
        thresholds_m: gap height thresholds, metres.
        out_dir: output folder.
        crs: CRS QGIS gives the layers when their files store none (or another one).
    """

    before_path: Path
    after_path: Path
    thresholds_m: tuple[float, ...]
    out_dir: Path
    crs: str | None = None

    @property
    def display_name(self) -> str:
        """``<before> → <after>`` for the layer group and the task list."""
        return f"{self.before_path.stem} → {self.after_path.stem}"


@dataclass(frozen=True)
class CompareDatesOutcome:
    """How a comparison ended: ``summary`` and paths on success, else ``message``."""

    is_success: bool
    params: CompareDatesParams
    summary: dict[str, Any] | None = None
    pattern_plot: Path | None = None
    message: str = ""


class CompareDatesTask(QgsTask):
    """Run ``gap_change`` (then the pattern of the new gaps) off the main thread."""

    def __init__(
        self, params: CompareDatesParams, on_finished: Callable[[CompareDatesOutcome], None]
    ) -> None:
        super().__init__(f"ForestGaps: compare {params.display_name}", QgsTask.Flag.CanCancel)
        self.params = params
        self.on_finished = on_finished
        self.outcome: CompareDatesOutcome | None = None

    def run(self) -> bool:  # name fixed by QGIS; worker thread
        """Compare; every exception becomes the outcome, none escapes into QGIS."""
        from forestgaps_engine.detection.change import gap_change
        from forestgaps_engine.errors import DataError
        from forestgaps_engine.gaps.change_inputs import DateInputs
        from forestgaps_engine.gaps.pattern_run import gap_pattern

        params = self.params
        try:
            result = gap_change(
                DateInputs(params.before_path, params.after_path, crs=params.crs),
                params.thresholds_m,
                params.out_dir,
                progress=lambda fraction, _message: self.setProgress(90.0 * fraction),
                cancel=self.isCanceled,
            )
            first = next(iter(result.summary["thresholds"].values()))
            plot = None
            try:
                pattern = gap_pattern(result.out_dir / first["files"]["change"], result.out_dir,
                                      cancel=self.isCanceled)  # fmt: skip
                plot = pattern.plot_path
            except DataError as error:  # fewer than 2 new gaps: no pattern to draw
                logger.info("no gap pattern: %s", error.message)
            self.outcome = CompareDatesOutcome(True, params, result.summary, plot)
        except BaseException as error:  # boundary: a task must never raise into QGIS
            self.outcome = CompareDatesOutcome(False, params, message=summary_line(error))
        return self.outcome.is_success

    def finished(self, result: bool) -> None:  # name fixed by QGIS; main thread
        """Hand the outcome to the delegate (also when QGIS cancelled before run())."""
        outcome = self.outcome or CompareDatesOutcome(
            False, self.params, message=tr("The comparison was cancelled; nothing was written.")
        )
        self.on_finished(outcome)


def add_change_layers(outcome: CompareDatesOutcome, project: QgsProject | None = None) -> Any:
    """A layer group with, per threshold, the styled change classes and the gap events."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    name = f"{GROUP_PREFIX}{outcome.params.display_name}"
    previous = root.findGroup(name)
    if previous is not None:
        root.removeChildNode(previous)
    group = root.insertGroup(0, name)
    out_dir = outcome.params.out_dir
    for index, (label, figures) in enumerate((outcome.summary or {})["thresholds"].items()):
        sub_group = group.addGroup(f"{figures['threshold_m']:g} m")
        classes = QgsRasterLayer(str(out_dir / figures["files"]["classes"]),
                                 f"change classes {label}")  # fmt: skip
        classes.loadNamedStyle(str(style_path("change_classes")))
        events = QgsVectorLayer(str(out_dir / figures["files"]["events"]), f"gap events {label}",
                                "ogr")  # fmt: skip
        for layer in (events, classes):
            if not layer.isValid():
                raise RuntimeError(f"QGIS cannot open {layer.source()} as a layer")
            project.addMapLayer(layer, False)
            sub_group.addLayer(layer).setItemVisibilityChecked(index == 0)
        sub_group.setExpanded(index == 0)
    return group


class ImageWindow(QDialog):
    """A plot shown as an image (the K and L curves)."""

    def __init__(self, image_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(image_path.name)
        self.image_path = image_path
        self.label = QLabel()
        self.label.setPixmap(QPixmap(str(image_path)))
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)


class CompareDatesSection(QgsCollapsibleGroupBox):
    """Collapsible "Compare dates" box: first date, second date, thresholds, folder, Run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("Compare dates"), parent)
        self.setObjectName("compareDatesSection")
        form = QFormLayout(self)
        self.before_combo = QgsMapLayerComboBox()
        self.after_combo = QgsMapLayerComboBox()
        for combo in (self.before_combo, self.after_combo):
            combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
            combo.setAllowEmptyLayer(True)
            combo.setLayer(None)
        form.addRow(tr("First date (CHM)"), self.before_combo)
        form.addRow(tr("Second date (CHM)"), self.after_combo)
        self.thresholds_edit = QLineEdit(DEFAULT_THRESHOLDS_TEXT)
        form.addRow(tr("Height thresholds (m)"), self.thresholds_edit)
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        form.addRow(tr("Output folder"), self.output_widget)
        self.run_button = QPushButton(tr("Run comparison"))
        self.run_button.clicked.connect(self.request_run)
        form.addRow(self.run_button)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        form.addRow(self.status_label)
        self.task: CompareDatesTask | None = None
        self.image_window: ImageWindow | None = None
        self.last_outcome: CompareDatesOutcome | None = None

    def params(self) -> CompareDatesParams | str:
        """The parameters, or one line saying which field to fix."""
        from ..processing.gaps_from_chm import layer_crs_override

        layers = (self.before_combo.currentLayer(), self.after_combo.currentLayer())
        if any(layer is None for layer in layers):
            return tr("Choose a CHM layer for both dates.")
        if layers[0] == layers[1]:
            return tr("First date and Second date are the same layer; choose two surveys.")
        text = self.thresholds_edit.text()
        try:
            thresholds_m = parse_thresholds(text)
        except ValueError:
            thresholds_m = ()
        if not thresholds_m or any(value <= 0 for value in thresholds_m):
            return tr("Height thresholds {!r}: list positive heights in metres such as 5, 10.").format(
                text
            )
        out_dir = self.output_widget.filePath().strip()
        if not out_dir:
            return tr("Choose an Output folder.")
        paths = [Path(layer.source().split("|")[0]) for layer in layers]
        return CompareDatesParams(
            paths[0], paths[1], tuple(thresholds_m), Path(out_dir),
            crs=layer_crs_override(layers[0]) or layer_crs_override(layers[1]),
        )  # fmt: skip

    def request_run(self) -> CompareDatesTask | None:
        """Start the comparison (or say what to fix); returns the task started."""
        params = self.params()
        if isinstance(params, str):
            self.status_label.setText(params)
            return None
        self.status_label.setText(tr("Comparing {}…").format(params.display_name))
        self.run_button.setEnabled(False)
        self.task = CompareDatesTask(params, self.show_outcome)
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def show_outcome(self, outcome: CompareDatesOutcome) -> None:
        """Main thread: layers and plot on success, the error line otherwise."""
        self.last_outcome = outcome
        self.run_button.setEnabled(True)
        self.task = None
        if not outcome.is_success:
            self.status_label.setText(outcome.message)
            return
        add_change_layers(outcome)
        first = next(iter((outcome.summary or {})["thresholds"].values()))
        self.status_label.setText(
            tr("{}: {:g} m² of new gap in {} new gaps, {:g} m² closed ({:g} m).").format(
                outcome.params.display_name, first["new_gap_area_m2"], first["new_gap_count"],
                first["closed_gap_area_m2"], first["threshold_m"],
            )
        )  # fmt: skip
        if outcome.pattern_plot is not None:
            self.image_window = ImageWindow(outcome.pattern_plot, self)
            self.image_window.show()

"""Processing algorithm ``forestgaps:gapchange``: gap changes between two dates.

Thin: parameters -> ``forestgaps_engine.detection.change.gap_change`` -> output paths.
Two CHMs use the classic detector (ForestGapR's GapChangeDec cell for cell); two DSMs use
DSM - DTM when both DTMs are given, the model otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..dock.params import parse_thresholds
from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies, require_model_runtime
from .gaps_from_chm import (
    DEFAULT_MAX_AREA_M2,
    DEFAULT_MIN_AREA_M2,
    MAX_AREA_BOUND_M2,
    layer_crs_override,
    load_on_completion,
    raster_file_of,
)

INPUT_KINDS = ("chm", "dsm")
GRID_CHOICES = ("finer", "before", "after")


class GapChangeAlgorithm(ForestGapsAlgorithm):
    """Gap changes between two dates."""

    CLI_FLAGS = {
        "--threshold": "THRESHOLDS",
        "--min-area": "MIN_AREA",
        "--max-area": "MAX_AREA",
        "--dates": "DATE_BEFORE",
        "--dtm": "BEFORE_DTM",
        "--input": "INPUT_KIND",
        "--grid": "GRID",
        "--out": "OUTPUT_FOLDER",
    }
    BEFORE = "BEFORE"
    AFTER = "AFTER"
    INPUT_KIND = "INPUT_KIND"
    BEFORE_DTM = "BEFORE_DTM"
    AFTER_DTM = "AFTER_DTM"
    THRESHOLDS = "THRESHOLDS"
    MIN_AREA = "MIN_AREA"
    MAX_AREA = "MAX_AREA"
    DATE_BEFORE = "DATE_BEFORE"
    DATE_AFTER = "DATE_AFTER"
    GRID = "GRID"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    CHANGE = "CHANGE"
    CLASSES = "CLASSES"
    EVENTS = "EVENTS"
    SUMMARY = "SUMMARY"
    NEW_GAP_AREA = "NEW_GAP_AREA"

    NAME = "gapchange"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("GapChangeAlgorithm", "Gap changes between two dates")
    GROUP = QT_TRANSLATE_NOOP("GapChangeAlgorithm", "Gap dynamics")
    GROUP_ID = "gapdynamics"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "GapChangeAlgorithm",
        "Compares the canopy gaps of two surveys at each height threshold, as "
        "ForestGapR's GapChangeDec does: a new-gap cell is gap on the second date and "
        "not on the first. Inputs are two canopy height models (CHMs), or two DSMs with "
        "a DTM each (CHM = DSM - DTM), or two DSMs alone (the model finds the gaps). "
        "Rasters on different grids or CRSs are brought onto one grid, the finer by "
        "default.\n\nWrites per threshold the new-gap raster (value 2), a raster of "
        "change classes (never gap, persistent, new, closed), a GeoPackage of gap "
        "events (new, expansion, persistent, closure) with areas before and after, a "
        "size-frequency plot, and summary.json (with rates per hectare per year when "
        "both survey dates are given)."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.BEFORE, self.tr("First date (CHM or DSM)"))
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.AFTER, self.tr("Second date (same kind)"))
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.INPUT_KIND,
                self.tr("The two rasters are"),
                options=[self.tr("CHMs (heights above ground)"), self.tr("DSMs (elevations)")],
                defaultValue=0,
            )
        )
        for key, label in (
            (self.BEFORE_DTM, self.tr("DTM of the first date (DSMs only; empty: the model)")),
            (self.AFTER_DTM, self.tr("DTM of the second date (DSMs only)")),
        ):
            self.addParameter(QgsProcessingParameterRasterLayer(key, label, optional=True))
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS, self.tr("Height thresholds (m, comma-separated)"),
                defaultValue="10",
            )
        )  # fmt: skip
        for key, label, default in (
            (self.MIN_AREA, self.tr("Minimum gap area (m²)"), DEFAULT_MIN_AREA_M2),
            (self.MAX_AREA, self.tr("Maximum gap area (m²)"), DEFAULT_MAX_AREA_M2),
        ):
            self.add_number(key, label, default, 0.0, MAX_AREA_BOUND_M2)
        for key, label in (
            (self.DATE_BEFORE, self.tr("Survey date of the first raster (YYYY-MM-DD, optional)")),
            (self.DATE_AFTER, self.tr("Survey date of the second raster (YYYY-MM-DD, optional)")),
        ):
            self.addParameter(QgsProcessingParameterString(key, label, optional=True))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.GRID,
                self.tr("Common grid"),
                options=[self.tr("The finer grid"), self.tr("The first date's grid"),
                         self.tr("The second date's grid")],  # fmt: skip
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(
            QgsProcessingOutputRasterLayer(self.CHANGE, self.tr("New gaps (lowest threshold)"))
        )
        self.addOutput(
            QgsProcessingOutputRasterLayer(self.CLASSES, self.tr("Change classes (lowest threshold)"))
        )
        self.addOutput(
            QgsProcessingOutputVectorLayer(
                self.EVENTS, self.tr("Gap events (lowest threshold)"),
                QgsProcessing.SourceType.TypeVectorPolygon,
            )
        )  # fmt: skip
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("Summary (JSON)")))
        self.addOutput(
            QgsProcessingOutputNumber(
                self.NEW_GAP_AREA, self.tr("New gap area at the lowest threshold (m²)")
            )
        )

    def check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        text = self.parameterAsString(parameters, self.THRESHOLDS, context)
        try:
            thresholds_m = parse_thresholds(text)
        except ValueError as error:
            return f"Height thresholds: {text!r}: {error}; list heights in metres such as 5,10."
        if not thresholds_m or any(value <= 0 for value in thresholds_m):
            return f"Height thresholds {text!r}: list positive heights in metres such as 5,10."
        if self.parameterAsDouble(parameters, self.MIN_AREA, context) > self.parameterAsDouble(
            parameters, self.MAX_AREA, context
        ):
            return "Minimum gap area is larger than the maximum; swap them or widen the range."
        dates = [self.parameterAsString(parameters, key, context).strip()
                 for key in (self.DATE_BEFORE, self.DATE_AFTER)]  # fmt: skip
        if sum(bool(date) for date in dates) == 1:
            return "Give both survey dates (YYYY-MM-DD), or neither."
        has_dtm = [self.parameterAsRasterLayer(parameters, key, context) is not None
                   for key in (self.BEFORE_DTM, self.AFTER_DTM)]  # fmt: skip
        if has_dtm[0] != has_dtm[1]:
            return "Give a DTM for both dates, or for neither (the model then reads the DSMs)."
        is_dsm = self.parameterAsEnum(parameters, self.INPUT_KIND, context) == 1
        if any(has_dtm) and not is_dsm:
            return "DTMs apply to DSMs: set 'The two rasters are' to DSMs, or clear the DTMs."
        return None

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        before_layer = self.parameterAsRasterLayer(parameters, self.BEFORE, context)
        after_layer = self.parameterAsRasterLayer(parameters, self.AFTER, context)
        kind = INPUT_KINDS[self.parameterAsEnum(parameters, self.INPUT_KIND, context)]
        dtm_layers = [self.parameterAsRasterLayer(parameters, key, context)
                      for key in (self.BEFORE_DTM, self.AFTER_DTM)]  # fmt: skip
        dtms = [raster_file_of(layer, key) if layer is not None else None
                for layer, key in zip(dtm_layers, (self.BEFORE_DTM, self.AFTER_DTM), strict=True)]  # fmt: skip
        if kind == "dsm" and dtms[0] is None:
            require_model_runtime()
        dates = [self.parameterAsString(parameters, key, context).strip()
                 for key in (self.DATE_BEFORE, self.DATE_AFTER)]  # fmt: skip
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.detection.change import gap_change
        from forestgaps_engine.gaps.change_inputs import DateInputs

        inputs = DateInputs(
            before=raster_file_of(before_layer, self.BEFORE),
            after=raster_file_of(after_layer, self.AFTER),
            kind=kind,
            before_dtm=dtms[0],
            after_dtm=dtms[1],
            crs=layer_crs_override(before_layer) or layer_crs_override(after_layer),
        )
        result = self.call_engine(
            feedback,
            gap_change,
            inputs,
            parse_thresholds(self.parameterAsString(parameters, self.THRESHOLDS, context)),
            out_dir,
            min_area_m2=self.parameterAsDouble(parameters, self.MIN_AREA, context),
            max_area_m2=self.parameterAsDouble(parameters, self.MAX_AREA, context),
            dates=dates if all(dates) else None,
            grid_choice=GRID_CHOICES[self.parameterAsEnum(parameters, self.GRID, context)],
        )
        if feedback is not None:
            feedback.pushInfo(result.grid_message)
        label, figures = next(iter(result.summary["thresholds"].items()))
        files = {key: result.out_dir / name for key, name in figures["files"].items()}
        load_on_completion(
            context, files["classes"], f"change classes {label}", style="change_classes"
        )
        load_on_completion(context, files["events"], f"gap events {label}")
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.CHANGE: str(files["change"]),
            self.CLASSES: str(files["classes"]),
            self.EVENTS: str(files["events"]),
            self.SUMMARY: str(result.summary_path),
            self.NEW_GAP_AREA: figures["new_gap_area_m2"],
        }


ALGORITHM = GapChangeAlgorithm

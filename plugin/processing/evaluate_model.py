"""Processing algorithm ``forestgaps:evaluatemodel``: score a model against CHM labels.

Thin: DSM + CHM (or DTM) + optional model -> ``forestgaps_engine.evaluation.api.evaluate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..dock.params import parse_thresholds
from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies, require_model_runtime
from .gaps_from_chm import raster_file_of

REFERENCE_KINDS = ("chm", "dtm")


class EvaluateModelAlgorithm(ForestGapsAlgorithm):
    """Score a model (or the DSM-only baseline alone) against gaps found on a CHM."""

    CLI_FLAGS = {
        "--dsm": "DSM",
        "--chm": "REFERENCE",
        "--dtm": "REFERENCE",
        "--model": "MODEL",
        "--threshold": "THRESHOLDS",
        "--out": "OUTPUT_FOLDER",
    }
    DSM = "DSM"
    REFERENCE = "REFERENCE"
    REFERENCE_KIND = "REFERENCE_KIND"
    MODEL = "MODEL"
    THRESHOLDS = "THRESHOLDS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    REPORT = "REPORT"
    METRICS = "METRICS"

    NAME = "evaluatemodel"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("EvaluateModelAlgorithm", "Evaluate a gap model")
    GROUP = QT_TRANSLATE_NOOP("EvaluateModelAlgorithm", "Training")
    GROUP_ID = "training"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "EvaluateModelAlgorithm",
        "Scores gap maps against reference gaps found on a canopy height model with "
        "ForestGapR's rule (height <= threshold, 8-connected, area bounds of the gaps "
        "defaults). The reference is a CHM, or a DTM from which CHM = DSM - DTM. With a "
        "model folder the model predicts on the DSM and is scored beside the DSM-only "
        "baseline and the CHM ceiling; without one, the baselines alone are scored. "
        "Writes report.md, metrics.csv, objects.csv, bias.csv, a JSON and figures into "
        "the output folder."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(QgsProcessingParameterRasterLayer(self.DSM, self.tr("DSM (metres)")))
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("CHM or DTM (metres)"))
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.REFERENCE_KIND,
                self.tr("The reference holds"),
                options=[
                    self.tr("CHM (heights above ground)"),
                    self.tr("DTM (ground elevation)"),
                ],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                self.tr("Model folder (empty: baselines only)"),
                behavior=QgsProcessingParameterFile.Behavior.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS,
                self.tr("Height thresholds (m, comma-separated)"),
                defaultValue="2,5,10",
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Report folder"))
        )
        self.addOutput(QgsProcessingOutputFile(self.REPORT, self.tr("Report (Markdown)")))
        self.addOutput(QgsProcessingOutputFile(self.METRICS, self.tr("Metrics (CSV)")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        model = self.parameterAsFile(parameters, self.MODEL, context).strip()
        require_dependencies(("core",))
        if model:
            require_model_runtime()
        dsm_path = raster_file_of(
            self.parameterAsRasterLayer(parameters, self.DSM, context), self.label_of(self.DSM)
        )
        reference_path = raster_file_of(
            self.parameterAsRasterLayer(parameters, self.REFERENCE, context),
            self.label_of(self.REFERENCE),
        )
        kind = REFERENCE_KINDS[self.parameterAsEnum(parameters, self.REFERENCE_KIND, context)]
        try:
            thresholds_m = parse_thresholds(
                self.parameterAsString(parameters, self.THRESHOLDS, context)
            )
        except ValueError as error:
            raise QgsProcessingException(
                f"{error} (hint: list heights in metres such as 2,5,10)"
            ) from error
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.evaluation.api import evaluate

        result = self.call_engine(
            feedback,
            evaluate,
            {"dsm": str(dsm_path), kind: str(reference_path)},
            model or None,
            list(thresholds_m),
            out_dir,
        )
        if feedback is not None:
            for note in result.notes:
                feedback.pushInfo(note)
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.REPORT: str(result.files.report),
            self.METRICS: str(result.files.metrics_csv),
        }


ALGORITHM = EvaluateModelAlgorithm

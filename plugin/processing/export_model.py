"""Processing algorithm ``forestgaps:exportmodel``: model folder -> ONNX / TorchScript / folder.

Thin: parameters -> ``forestgaps_engine.models.export.export_model`` (parity-checked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies

FORMATS = ("onnx", "torchscript", "native")


def export_with_progress(
    model: str, out_path: Path, export_format: str, progress: Any = None, cancel: Any = None
) -> Any:
    """``export_model`` with the progress/cancel protocol of ``call_engine``.

    The export is one uninterruptible step, so cancel is checked before it starts and
    progress is reported at the start and at the end.
    """
    from forestgaps_engine.models.export import export_model
    from forestgaps_engine.progress import Reporter

    reporter = Reporter(progress, cancel)
    reporter.report(0.0, f"exporting to {export_format}")
    reporter.check()
    result = export_model(model, out_path, format=export_format)
    reporter.report(1.0, f"exported {result.path}")
    return result


class ExportModelAlgorithm(ForestGapsAlgorithm):
    """Export a model to ONNX, TorchScript or a clean model folder."""

    CLI_FLAGS = {"--model": "MODEL", "--format": "FORMAT", "--out": "OUTPUT"}
    MODEL = "MODEL"
    FORMAT = "FORMAT"
    OUTPUT = "OUTPUT"
    PARITY = "PARITY"

    NAME = "exportmodel"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("ExportModelAlgorithm", "Export a gap model")
    GROUP = QT_TRANSLATE_NOOP("ExportModelAlgorithm", "Training")
    GROUP_ID = "training"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "ExportModelAlgorithm",
        "Exports a model folder (model.safetensors + model_card.json; empty: the bundled "
        "default) to ONNX (.onnx, for ONNX Runtime), TorchScript (.pt) or a clean native "
        "model folder. ONNX and TorchScript graphs take raw DSM metres and a threshold and "
        "return gap probabilities. The export is refused when it differs from the "
        "original model by more than 1e-4."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                self.tr("Model folder (empty: bundled default)"),
                behavior=QgsProcessingParameterFile.Behavior.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.FORMAT, self.tr("Format"), options=list(FORMATS), defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT,
                self.tr("Exported model (.onnx, .pt, or a folder for native)"),
                fileFilter="ONNX (*.onnx);;TorchScript (*.pt);;All files (*)",
            )
        )
        self.addOutput(QgsProcessingOutputString(self.PARITY, self.tr("Parity (JSON)")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core", "torch"))
        model = self.parameterAsFile(parameters, self.MODEL, context).strip() or "default"
        export_format = FORMATS[self.parameterAsEnum(parameters, self.FORMAT, context)]
        out_path = Path(self.parameterAsFileOutput(parameters, self.OUTPUT, context))
        result = self.call_engine(feedback, export_with_progress, model, out_path, export_format)
        parity = json.dumps(result.parity) if result.parity is not None else ""
        if feedback is not None and parity:
            feedback.pushInfo(f"parity (max abs difference vs eager PyTorch): {parity}")
        return {self.OUTPUT: str(result.path), self.PARITY: parity}


ALGORITHM = ExportModelAlgorithm

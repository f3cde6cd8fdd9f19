"""Processing algorithm ``forestgaps:trainmodel``: prepared shards -> trained model folder.

Thin: config file (+ ``key=value`` overrides) -> ``forestgaps_engine.training.api.train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies
from .prepare_training_data import split_overrides


def train_from_file(
    config_path: str,
    overrides: list[str],
    prepared_dir: str | None,
    resume: bool,
    progress: Any = None,
    cancel: Any = None,
) -> Any:
    """Load the config (overrides applied) and run ``train``; returns its TrainResult."""
    from forestgaps_engine.config.loader import load_config
    from forestgaps_engine.training.api import train

    config = load_config(config_path or None, overrides)
    return train(config, prepared_dir or None, resume=resume, progress=progress, cancel=cancel)


class TrainModelAlgorithm(ForestGapsAlgorithm):
    """Train a gap model on prepared training data (output of Prepare training data)."""

    CLI_FLAGS = {
        "--config": "CONFIG",
        "--data": "PREPARED",
        "--set": "OVERRIDES",
        "--resume": "RESUME",
        "--out": "OUTPUT_FOLDER",
    }
    CONFIG = "CONFIG"
    PREPARED = "PREPARED"
    OVERRIDES = "OVERRIDES"
    RESUME = "RESUME"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    MODEL = "MODEL"
    EPOCHS = "EPOCHS"

    NAME = "trainmodel"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("TrainModelAlgorithm", "Train a gap model")
    GROUP = QT_TRANSLATE_NOOP("TrainModelAlgorithm", "Training")
    GROUP_ID = "training"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "TrainModelAlgorithm",
        "Trains the model of a ForestGaps config (model, thresholds, training sections) "
        "on a prepared data folder (the output of Prepare training data). Writes "
        "checkpoints, TensorBoard logs and the model folder (model.safetensors + "
        "model_card.json) into the output folder, which replaces training.output_dir. "
        "Empty prepared folder: data.output_dir of the config. Overrides: key=value per "
        "line (or separated by ';'), e.g. training.epochs=5. Resume continues from "
        "checkpoints/last.pt in the output folder. Cancelling keeps the checkpoints."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterFile(
                self.CONFIG, self.tr("Config (YAML)"), extension="yaml", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.PREPARED,
                self.tr("Prepared data folder (empty: data.output_dir of the config)"),
                behavior=QgsProcessingParameterFile.Behavior.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.OVERRIDES, self.tr("Overrides (key=value)"), multiLine=True, optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.RESUME, self.tr("Resume from the last checkpoint"), defaultValue=False
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Training folder"))
        )
        self.addOutput(QgsProcessingOutputFolder(self.MODEL, self.tr("Model folder")))
        self.addOutput(QgsProcessingOutputNumber(self.EPOCHS, self.tr("Epochs run")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core", "torch"))
        config_path = self.parameterAsFile(parameters, self.CONFIG, context)
        prepared_dir = self.parameterAsFile(parameters, self.PREPARED, context).strip()
        overrides = split_overrides(self.parameterAsString(parameters, self.OVERRIDES, context))
        resume = self.parameterAsBoolean(parameters, self.RESUME, context)
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))
        overrides.append(f"training.output_dir={out_dir}")
        result = self.call_engine(
            feedback, train_from_file, config_path, overrides, prepared_dir or None, resume
        )
        if feedback is not None:
            for key, value in sorted(result.metrics.items()):
                feedback.pushInfo(f"{key}: {value:.4g}")
        return {
            self.OUTPUT_FOLDER: str(out_dir),
            self.MODEL: str(result.model_dir) if result.model_dir is not None else "",
            self.EPOCHS: result.epochs_run,
        }


ALGORITHM = TrainModelAlgorithm

"""Processing algorithm ``forestgaps:preparetrainingdata``: sites -> training shards.

Thin: config file (+ ``key=value`` overrides) -> ``forestgaps_engine.data.prepare.prepare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies


def split_overrides(text: str) -> list[str]:
    """``"a.b=1; c=2"`` or one per line -> ``["a.b=1", "c=2"]``."""
    parts = text.replace(";", "\n").splitlines()
    return [part.strip() for part in parts if part.strip()]


def prepare_from_file(
    config_path: str, overrides: list[str], progress: Any = None, cancel: Any = None
) -> Any:
    """Load the config (overrides applied) and run ``prepare``; returns its PrepareResult."""
    from forestgaps_engine.config.loader import load_config
    from forestgaps_engine.data.prepare import prepare

    config = load_config(config_path or None, overrides)
    return prepare(config, progress=progress, cancel=cancel)


class PrepareTrainingDataAlgorithm(ForestGapsAlgorithm):
    """Prepare training data (labels, tiles, split, shards) from a config file."""

    CLI_FLAGS = {"--config": "CONFIG", "--set": "OVERRIDES", "--out": "OUTPUT_FOLDER"}
    CONFIG = "CONFIG"
    OVERRIDES = "OVERRIDES"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    MANIFEST = "MANIFEST"

    NAME = "preparetrainingdata"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("PrepareTrainingDataAlgorithm", "Prepare training data")
    GROUP = QT_TRANSLATE_NOOP("PrepareTrainingDataAlgorithm", "Training")
    GROUP_ID = "training"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "PrepareTrainingDataAlgorithm",
        "Turns the sites of a ForestGaps config (DSM + CHM, DSM + DTM, point clouds "
        "and/or generated synthetic forests) into training shards: gap labels at every "
        "configured threshold, tiles, a split by site, normalization statistics and a "
        "manifest. Overrides: key=value per line (or separated by ';'), e.g. "
        "synth.n_sites=2. The output folder replaces data.output_dir."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterFile(
                self.CONFIG, self.tr("Config (YAML)"), extension="yaml", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.OVERRIDES, self.tr("Overrides (key=value)"), multiLine=True, optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(
                self.OUTPUT_FOLDER, self.tr("Prepared data folder")
            )
        )
        self.addOutput(QgsProcessingOutputFile(self.MANIFEST, self.tr("Manifest (JSON)")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core", "torch"))
        config_path = self.parameterAsFile(parameters, self.CONFIG, context)
        overrides = split_overrides(self.parameterAsString(parameters, self.OVERRIDES, context))
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))
        overrides.append(f"data.output_dir={out_dir}")
        result = self.call_engine(feedback, prepare_from_file, config_path, overrides)
        return {
            self.OUTPUT_FOLDER: str(result.output_dir),
            self.MANIFEST: str(result.manifest_path),
        }


ALGORITHM = PrepareTrainingDataAlgorithm

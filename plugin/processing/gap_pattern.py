"""Processing algorithm ``forestgaps:gappattern``: spatial pattern of gaps.

Thin: parameters -> ``forestgaps_engine.gaps.pattern_run.gap_pattern`` -> output paths.
ForestGapR's GapsSpatPattern: Clark-Evans R and its test, Ripley's K and L with CSR
envelopes, on gap centres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies
from .gaps_from_chm import raster_file_of

DEFAULT_SIMULATIONS = 99
MAX_SIMULATIONS = 9999
DEFAULT_SEED = 42


class GapPatternAlgorithm(ForestGapsAlgorithm):
    """Gap spatial pattern."""

    CLI_FLAGS = {
        "--window": "WINDOW",
        "--simulations": "SIMULATIONS",
        "--seed": "SEED",
        "--out": "OUTPUT_FOLDER",
    }
    GAPS = "GAPS"
    WINDOW = "WINDOW"
    SIMULATIONS = "SIMULATIONS"
    SEED = "SEED"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    PLOT = "PLOT"
    JSON = "JSON"
    CLARK_EVANS_R = "CLARK_EVANS_R"
    P_VALUE = "P_VALUE"
    PATTERN = "PATTERN"

    NAME = "gappattern"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("GapPatternAlgorithm", "Gap spatial pattern")
    GROUP = QT_TRANSLATE_NOOP("GapPatternAlgorithm", "Gap dynamics")
    GROUP_ID = "gapdynamics"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "GapPatternAlgorithm",
        "Tests whether canopy gaps are clustered, random or regular, as ForestGapR's "
        "GapsSpatPattern does: each gap becomes its centre point; the Clark-Evans index R "
        "is tested against complete spatial randomness (Z-test, no edge correction; the "
        "Donnelly-corrected R is given too), and Ripley's K and L functions (isotropic "
        "edge correction) are drawn with an envelope of random patterns.\n\n"
        "Gaps: a gap polygon layer (GeoPackage) or a gap raster. Study area: the extent "
        "of the CHM the gaps come from (default: the extent of the gaps' layer). Writes "
        "a PNG of K and L and a JSON of every number."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterMapLayer(self.GAPS, self.tr("Gaps (polygon layer or gap raster)"))
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                self.WINDOW, self.tr("Study area: the CHM (optional)"), optional=True
            )
        )
        self.add_number(
            self.SIMULATIONS, self.tr("Random patterns in the envelope"), DEFAULT_SIMULATIONS,
            1, MAX_SIMULATIONS, is_integer=True,
        )  # fmt: skip
        self.add_number(self.SEED, self.tr("Random seed"), DEFAULT_SEED, 0, is_integer=True)
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(QgsProcessingOutputFile(self.PLOT, self.tr("K and L plot (PNG)")))
        self.addOutput(QgsProcessingOutputFile(self.JSON, self.tr("Pattern statistics (JSON)")))
        self.addOutput(QgsProcessingOutputNumber(self.CLARK_EVANS_R, self.tr("Clark-Evans R")))
        self.addOutput(QgsProcessingOutputNumber(self.P_VALUE, self.tr("p-value of R")))
        self.addOutput(QgsProcessingOutputString(self.PATTERN, self.tr("Pattern at the 5% level")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        layer = self.parameterAsLayer(parameters, self.GAPS, context)
        if layer is None:
            raise QgsProcessingException("Gaps: no layer was given")
        source = Path(layer.source().split("|")[0])
        if not source.is_file():
            raise QgsProcessingException(
                f"Gaps: layer {layer.name()!r} ({layer.source()}) is not a file; save it as a "
                "GeoPackage or GeoTIFF first"
            )
        window_layer = self.parameterAsRasterLayer(parameters, self.WINDOW, context)
        window = raster_file_of(window_layer, self.WINDOW) if window_layer is not None else None
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.gaps.pattern_run import gap_pattern

        result = self.call_engine(
            feedback,
            gap_pattern,
            source,
            out_dir,
            window,
            self.parameterAsInt(parameters, self.SIMULATIONS, context),
            self.parameterAsInt(parameters, self.SEED, context),
        )
        index = result.summary["clark_evans"]
        return {
            self.OUTPUT_FOLDER: str(out_dir),
            self.PLOT: str(result.plot_path),
            self.JSON: str(result.json_path),
            self.CLARK_EVANS_R: index["R"],
            self.P_VALUE: index["p_value"],
            self.PATTERN: index["pattern"],
        }


ALGORITHM = GapPatternAlgorithm

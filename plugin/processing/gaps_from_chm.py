"""Processing algorithm ``forestgaps:gapsfromchm``: the classic detector on a CHM.

Thin: parameters -> ``forestgaps_engine.detection.detect`` (classic route) -> output paths.
ForestGapR semantics (``getForestGaps``): gap where height <= threshold, 8-connected
patches, kept when min_area <= area <= max_area (m²).
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
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies

# Other modules take these from here.
from ._layers import layer_crs_override, load_on_completion, raster_file_of  # noqa: F401

# ForestGapR's getForestGaps defaults: threshold = 10 m, size = c(1, 10^4) m².
DEFAULT_THRESHOLD_M = 10.0
DEFAULT_MIN_AREA_M2 = 1.0
DEFAULT_MAX_AREA_M2 = 10_000.0
# Parameter minimums are inclusive: 1 cm stands for "strictly positive".
MIN_THRESHOLD_M = 0.01
MAX_AREA_BOUND_M2 = 1.0e9


class GapsFromChmAlgorithm(ForestGapsAlgorithm):
    """Gaps from CHM (classic, ForestGapR-exact)."""

    CLI_FLAGS = {
        "--chm": "INPUT",
        "--threshold": "THRESHOLD",
        "--min-area": "MIN_AREA",
        "--max-area": "MAX_AREA",
        "--out": "OUTPUT_FOLDER",
    }
    INPUT = "INPUT"
    THRESHOLD = "THRESHOLD"
    MIN_AREA = "MIN_AREA"
    MAX_AREA = "MAX_AREA"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    GAP_RASTER = "GAP_RASTER"
    GAP_POLYGONS = "GAP_POLYGONS"
    GAP_STATS = "GAP_STATS"
    N_GAPS = "N_GAPS"

    NAME = "gapsfromchm"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("GapsFromChmAlgorithm", "Gaps from CHM (classic, ForestGapR-exact)")
    GROUP = QT_TRANSLATE_NOOP("GapsFromChmAlgorithm", "Gap detection")
    GROUP_ID = "gapdetection"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "GapsFromChmAlgorithm",
        "Finds canopy gaps in a canopy height model (CHM, metres above ground) exactly as "
        "ForestGapR's getForestGaps does: a cell is gap when its height is at or below "
        "the threshold, gap cells form 8-connected patches, and a patch is kept when its "
        "area lies within [minimum area, maximum area] square metres.\n\n"
        "The CHM must have a projected CRS in metres. Writes a gap-id raster and gap "
        "polygons into the output folder."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                self.INPUT, self.tr("Canopy height model (CHM, metres)")
            )
        )
        self.add_number(
            self.THRESHOLD, self.tr("Height threshold (m): gap where height <= threshold"),
            DEFAULT_THRESHOLD_M, MIN_THRESHOLD_M,
        )  # fmt: skip
        for key, label, default in (
            (self.MIN_AREA, self.tr("Minimum gap area (m²)"), DEFAULT_MIN_AREA_M2),
            (self.MAX_AREA, self.tr("Maximum gap area (m²)"), DEFAULT_MAX_AREA_M2),
        ):
            self.add_number(key, label, default, 0.0, MAX_AREA_BOUND_M2)
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(QgsProcessingOutputRasterLayer(self.GAP_RASTER, self.tr("Gap raster")))
        self.addOutput(
            QgsProcessingOutputVectorLayer(
                self.GAP_POLYGONS,
                self.tr("Gap polygons"),
                QgsProcessing.SourceType.TypeVectorPolygon,
            )
        )
        self.addOutput(QgsProcessingOutputFile(self.GAP_STATS, self.tr("Gap statistics (CSV)")))
        self.addOutput(QgsProcessingOutputNumber(self.N_GAPS, self.tr("Number of gaps")))

    def check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        min_area_m2 = self.parameterAsDouble(parameters, self.MIN_AREA, context)
        max_area_m2 = self.parameterAsDouble(parameters, self.MAX_AREA, context)
        if min_area_m2 > max_area_m2:
            return (
                f"Minimum gap area {min_area_m2:g} m² is larger than the maximum "
                f"{max_area_m2:g} m²; swap them or widen the range."
            )
        return None

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        chm_path, crs = self.raster_path(parameters, self.INPUT, context)
        config = self.inference_config(
            {
                "min_gap_area_m2": self.parameterAsDouble(parameters, self.MIN_AREA, context),
                "max_gap_area_m2": self.parameterAsDouble(parameters, self.MAX_AREA, context),
            },
            {"min_gap_area_m2": self.MIN_AREA, "max_gap_area_m2": self.MAX_AREA},
        )
        result = self.detect(
            feedback, context, dsm=None, chm=chm_path, route="classic",
            thresholds_m=[self.parameterAsDouble(parameters, self.THRESHOLD, context)],
            out_dir=Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)),
            crs_overrides={"chm": crs} if crs else None, config=config,
        )  # fmt: skip
        (outputs,) = result.thresholds
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.GAP_RASTER: str(outputs.gap_ids_path),
            self.GAP_POLYGONS: str(outputs.polygons_path),
            self.GAP_STATS: str(outputs.stats_path),
            self.N_GAPS: outputs.n_gaps,
        }


ALGORITHM = GapsFromChmAlgorithm

"""Processing algorithm ``forestgaps:gapsfromchm``: the classic detector on a CHM.

Thin: parameters -> ``forestgaps_engine.gaps.pipeline.gaps_from_chm`` -> output paths.
ForestGapR semantics (``getForestGaps``): gap where height <= threshold, 8-connected
patches, kept when min_area <= area <= max_area (m²).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProject,
    QgsRasterLayer,
)

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies

# ForestGapR's getForestGaps defaults: threshold = 10 m, size = c(1, 10^4) m².
DEFAULT_THRESHOLD_M = 10.0
DEFAULT_MIN_AREA_M2 = 1.0
DEFAULT_MAX_AREA_M2 = 10_000.0
# Parameter minimums are inclusive: 1 cm stands for "strictly positive".
MIN_THRESHOLD_M = 0.01
MAX_AREA_BOUND_M2 = 1.0e9


def raster_file_of(layer: QgsRasterLayer | None, label: str) -> Path:
    """The file behind a GDAL raster layer, or a QgsProcessingException naming the field.

    Args:
        layer: the layer a raster parameter gave (None when it gave none).
        label: the parameter's label in the dialog, e.g. "Canopy height model".
    """
    if layer is None:
        raise QgsProcessingException(f"{label}: no raster layer was given; choose one.")
    path = Path(layer.source().split("|")[0])
    if layer.providerType() != "gdal" or not path.is_file():
        raise QgsProcessingException(
            f"{label}: layer {layer.name()!r} ({layer.source()}) is not a raster file "
            "(hint: save it as a GeoTIFF first, e.g. with Raster > Conversion > Translate)"
        )
    return path


def layer_crs_override(layer: QgsRasterLayer) -> str | None:
    """The layer's CRS when QGIS uses another one than the file's (or the file has none).

    The engine replaces a stored CRS with a warning, so the file's own CRS is not passed.
    """
    layer_crs = layer.crs()
    if not layer_crs.isValid() or layer_crs == layer.dataProvider().crs():
        return None
    authid = layer_crs.authid()
    return authid if authid.upper().startswith("EPSG:") else layer_crs.toWkt()


def load_on_completion(context: QgsProcessingContext, path: Path, name: str) -> None:
    """Ask the GUI to add ``path`` to the project when the algorithm ends (no-op headless)."""
    details = QgsProcessingContext.LayerDetails(name, context.project() or QgsProject.instance())
    context.addLayerToLoadOnCompletion(str(path), details)


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

    def name(self) -> str:
        return "gapsfromchm"

    def displayName(self) -> str:  # name fixed by QGIS
        return self.tr("Gaps from CHM (classic, ForestGapR-exact)")

    def group(self) -> str:
        return self.tr("Gap detection")

    def groupId(self) -> str:  # name fixed by QGIS
        return "gapdetection"

    def shortHelpString(self) -> str:  # name fixed by QGIS
        return self.tr(
            "Finds canopy gaps in a canopy height model (CHM, metres above ground) exactly as "
            "ForestGapR's getForestGaps does: a cell is gap when its height is at or below "
            "the threshold, gap cells form 8-connected patches, and a patch is kept when its "
            "area lies within [minimum area, maximum area] square metres.\n\n"
            "The CHM must have a projected CRS in metres. Writes a gap-id raster and gap "
            "polygons into the output folder."
        )

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                self.INPUT, self.tr("Canopy height model (CHM, metres)")
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.THRESHOLD,
                self.tr("Height threshold (m): gap where height <= threshold"),
                type=QgsProcessingParameterNumber.Type.Double,
                defaultValue=DEFAULT_THRESHOLD_M,
                minValue=MIN_THRESHOLD_M,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MIN_AREA,
                self.tr("Minimum gap area (m²)"),
                type=QgsProcessingParameterNumber.Type.Double,
                defaultValue=DEFAULT_MIN_AREA_M2,
                minValue=0.0,
                maxValue=MAX_AREA_BOUND_M2,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_AREA,
                self.tr("Maximum gap area (m²)"),
                type=QgsProcessingParameterNumber.Type.Double,
                defaultValue=DEFAULT_MAX_AREA_M2,
                minValue=0.0,
                maxValue=MAX_AREA_BOUND_M2,
            )
        )
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
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        chm_path = raster_file_of(layer, self.label_of(self.INPUT))
        threshold_m = self.parameterAsDouble(parameters, self.THRESHOLD, context)
        min_area_m2 = self.parameterAsDouble(parameters, self.MIN_AREA, context)
        max_area_m2 = self.parameterAsDouble(parameters, self.MAX_AREA, context)
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.gaps.pipeline import gaps_from_chm

        result = self.call_engine(
            feedback,
            gaps_from_chm,
            chm_path,
            thresholds_m=[threshold_m],
            out_dir=out_dir,
            min_area_m2=min_area_m2,
            max_area_m2=max_area_m2,
            crs=layer_crs_override(layer),
        )
        (outputs,) = result.thresholds
        load_on_completion(context, outputs.raster_path, f"gaps {outputs.label}")
        load_on_completion(context, outputs.gpkg_path, f"gap polygons {outputs.label}")
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.GAP_RASTER: str(outputs.raster_path),
            self.GAP_POLYGONS: str(outputs.gpkg_path),
            self.GAP_STATS: str(outputs.stats_path),
            self.N_GAPS: outputs.n_gaps,
        }


ALGORITHM = GapsFromChmAlgorithm

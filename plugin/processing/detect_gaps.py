"""Processing algorithm ``forestgaps:detectgaps``: deep-learning gap maps from a DSM.

Thin: parameters -> ``forestgaps_engine.inference.api.predict`` -> output paths.
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
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ..dock.params import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MIN_GAP_AREA_M2,
    DEFAULT_OVERLAP_PX,
    DEFAULT_TILE_SIZE_PX,
    MAX_BATCH_SIZE,
    MAX_TILE_SIZE_PX,
    MIN_TILE_SIZE_PX,
    parse_thresholds,
)
from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies, require_model_runtime
from .gaps_from_chm import load_on_completion, raster_file_of


class DetectGapsAlgorithm(ForestGapsAlgorithm):
    """Detect gaps (deep learning) in a DSM at one or more height thresholds."""

    CLI_FLAGS = {
        "--dsm": "INPUT",
        "--threshold": "THRESHOLDS",
        "--model": "MODEL",
        "--tile-size": "TILE",
        "--tile": "TILE",
        "--overlap": "OVERLAP",
        "--batch": "BATCH",
        "--min-area": "MIN_AREA",
        "--max-area": "MAX_AREA",
        "--out": "OUTPUT_FOLDER",
    }
    INPUT = "INPUT"
    THRESHOLDS = "THRESHOLDS"
    MODEL = "MODEL"
    TILE = "TILE"
    OVERLAP = "OVERLAP"
    BATCH = "BATCH"
    MIN_AREA = "MIN_AREA"
    MAX_AREA = "MAX_AREA"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    SUMMARY = "SUMMARY"
    N_GAPS = "N_GAPS"

    def name(self) -> str:
        return "detectgaps"

    def displayName(self) -> str:  # name fixed by QGIS
        return self.tr("Detect gaps in a DSM (deep learning)")

    def group(self) -> str:
        return self.tr("Gap detection")

    def groupId(self) -> str:  # name fixed by QGIS
        return "gapdetection"

    def shortHelpString(self) -> str:  # name fixed by QGIS
        return self.tr(
            "Predicts canopy gaps from a digital surface model (DSM, metres) with a trained "
            "ForestGaps model, at every listed height threshold in one pass.\n\n"
            "Thresholds: comma-separated heights in metres, e.g. 2,5,10. Model: a model "
            "folder (model.safetensors + model_card.json); empty uses the bundled default "
            "model. Tile, overlap and batch set the prediction windows (overlap below half "
            "the tile). Writes per threshold a gap probability raster, a gap mask and gap "
            "polygons, plus summary.json, into the output folder."
        )

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        integer = QgsProcessingParameterNumber.Type.Integer
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("DSM (metres)")))
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS,
                self.tr("Height thresholds (m, comma-separated)"),
                defaultValue="2,5,10",
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                self.tr("Model folder (empty: bundled default)"),
                behavior=QgsProcessingParameterFile.Behavior.Folder,
                optional=True,
            )
        )
        for key, label, default, low, high in (
            (
                self.TILE,
                self.tr("Tile size (px)"),
                DEFAULT_TILE_SIZE_PX,
                MIN_TILE_SIZE_PX,
                MAX_TILE_SIZE_PX,
            ),
            (self.OVERLAP, self.tr("Overlap (px)"), DEFAULT_OVERLAP_PX, 0, MAX_TILE_SIZE_PX // 2),
            (self.BATCH, self.tr("Batch size"), DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE),
        ):
            self.addParameter(
                QgsProcessingParameterNumber(
                    key, label, type=integer, defaultValue=default, minValue=low, maxValue=high
                )
            )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MIN_AREA,
                self.tr("Minimum gap area (m²)"),
                type=QgsProcessingParameterNumber.Type.Double,
                defaultValue=DEFAULT_MIN_GAP_AREA_M2,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MAX_AREA,
                self.tr("Maximum gap area (m², 0 = no limit; ForestGapR uses 10000)"),
                type=QgsProcessingParameterNumber.Type.Double,
                defaultValue=0.0,
                minValue=0.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("Summary (JSON)")))
        self.addOutput(
            QgsProcessingOutputNumber(self.N_GAPS, self.tr("Gaps at the lowest threshold"))
        )

    def check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        text = self.parameterAsString(parameters, self.THRESHOLDS, context)
        label = "Height thresholds"
        try:
            thresholds_m = parse_thresholds(text)
        except ValueError as error:
            return f"{label}: {text!r}: {error}; list heights in metres such as 2,5,10."
        if not thresholds_m:
            return f"{label} is empty; list heights in metres such as 2,5,10."
        not_positive = ", ".join(f"{value:g}" for value in thresholds_m if value <= 0)
        if not_positive:
            return (
                f"{label}: {text!r} holds {not_positive} m; every height must be positive, "
                "e.g. 2,5,10."
            )
        tile_px = self.parameterAsInt(parameters, self.TILE, context)
        overlap_px = self.parameterAsInt(parameters, self.OVERLAP, context)
        if 2 * overlap_px >= tile_px:
            return (
                f"Overlap is {overlap_px} px; it must be below half the tile size "
                f"({tile_px / 2:g} px): lower the overlap or raise the tile size."
            )
        return None

    def config_problem(self, error: ValueError) -> str:
        """A pydantic error on InferenceConfig as one line naming the dialog's fields."""
        keys = {
            "tile_size_px": self.TILE,
            "overlap_px": self.OVERLAP,
            "batch_size": self.BATCH,
            "min_gap_area_m2": self.MIN_AREA,
            "max_gap_area_m2": self.MAX_AREA,
        }
        details = getattr(error, "errors", None)
        if not callable(details):
            return " ".join(str(error).split())
        parts = []
        for detail in details():
            field = next((str(part) for part in detail.get("loc", ()) if part in keys), "")
            label = self.label_of(keys[field]) if field else "Tiling settings"
            parts.append(f"{label}: {detail.get('msg', 'invalid value')}")
        return "; ".join(parts) + "."

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        require_model_runtime()
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        dsm_path = raster_file_of(layer, self.label_of(self.INPUT))
        try:
            thresholds_m = parse_thresholds(
                self.parameterAsString(parameters, self.THRESHOLDS, context)
            )
        except ValueError as error:
            raise QgsProcessingException(str(error)) from error
        model = self.parameterAsFile(parameters, self.MODEL, context).strip() or "default"
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.config.inference import InferenceConfig
        from forestgaps_engine.inference.api import predict

        try:
            config = InferenceConfig(
                tile_size_px=self.parameterAsInt(parameters, self.TILE, context),
                overlap_px=self.parameterAsInt(parameters, self.OVERLAP, context),
                batch_size=self.parameterAsInt(parameters, self.BATCH, context),
                min_gap_area_m2=self.parameterAsDouble(parameters, self.MIN_AREA, context),
                max_gap_area_m2=self.parameterAsDouble(parameters, self.MAX_AREA, context) or None,
            )
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise QgsProcessingException(self.config_problem(error)) from error
        result = self.call_engine(
            feedback, predict, dsm_path, list(thresholds_m), model, out_dir, config=config
        )
        for item in result.thresholds:
            label = f"{item.threshold_m:g} m"
            load_on_completion(context, item.probability_path, f"gap probability {label}")
            load_on_completion(context, item.gaps_path, f"gaps {label}")
        return {
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.SUMMARY: str(result.summary_path),
            self.N_GAPS: result.thresholds[0].n_gaps,
        }


ALGORITHM = DetectGapsAlgorithm

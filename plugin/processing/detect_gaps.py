"""Processing algorithm ``forestgaps:detectgaps``: gap maps from a DSM.

Thin: parameters -> ``forestgaps_engine.detection.detect`` -> output paths. The same
options as the panel: the model (here or on a ForestGaps server), a CHM or DTM for the
classic fallback when no model is usable, an extent, and both gap area bounds.
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
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ..deps import has_model_runtime
from ..dock.params import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MIN_GAP_AREA_M2,
    DEFAULT_OVERLAP_PX,
    DEFAULT_TILE_SIZE_PX,
    MAX_BATCH_SIZE,
    MAX_TILE_SIZE_PX,
    MIN_TILE_SIZE_PX,
    parse_thresholds,
    server_url_problems,
)
from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies, require_model_runtime


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
        "--terrain-prior": "TERRAIN_PRIOR",
    }
    INPUT = "INPUT"
    THRESHOLDS = "THRESHOLDS"
    MODEL = "MODEL"
    TILE = "TILE"
    OVERLAP = "OVERLAP"
    BATCH = "BATCH"
    MIN_AREA = "MIN_AREA"
    MAX_AREA = "MAX_AREA"
    CHM = "CHM"
    DTM = "DTM"
    EXTENT = "EXTENT"
    SERVER_URL = "SERVER_URL"
    SERVER_AUTHCFG = "SERVER_AUTHCFG"
    TERRAIN_PRIOR = "TERRAIN_PRIOR"
    METHOD = "METHOD"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    SUMMARY = "SUMMARY"
    N_GAPS = "N_GAPS"

    NAME = "detectgaps"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DetectGapsAlgorithm", "Detect gaps in a DSM (deep learning)")
    GROUP = QT_TRANSLATE_NOOP("DetectGapsAlgorithm", "Gap detection")
    GROUP_ID = "gapdetection"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "DetectGapsAlgorithm",
        "Predicts canopy gaps from a digital surface model (DSM, metres) with a trained "
        "ForestGaps model, at every listed height threshold in one pass.\n\n"
        "Thresholds: comma-separated heights in metres, e.g. 2,5,10. Model: a model "
        "folder (model.safetensors + model_card.json); empty uses the bundled default "
        "model. Tile, overlap and batch set the prediction windows (overlap below half "
        "the tile). Writes per threshold a gap probability raster, a gap mask and gap "
        "polygons, plus summary.json, into the output folder.\n\n"
        "With a CHM or a DTM (CHM = DSM - DTM), the classic ForestGapR rule runs instead "
        "when no model is usable, and otherwise the log gives each mask's agreement with "
        "it. An extent cuts the inputs; a server URL (forestgaps serve) runs the model "
        "there. A server started with a token (forestgaps serve --token) needs a Server "
        "token: a QGIS authentication configuration of method Basic whose password is "
        "the token."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("DSM (metres)")))
        self.addParameter(
            QgsProcessingParameterString(
                self.THRESHOLDS,
                self.tr("Height thresholds (m, comma-separated)"),
                defaultValue="2,5,10",
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                self.TERRAIN_PRIOR,
                self.tr("Coarse terrain (DEM; the default model then runs its terrain model)"),
                optional=True,
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
            self.add_number(key, label, default, low, high, is_integer=True)
        self.add_number(
            self.MIN_AREA, self.tr("Minimum gap area (m²)"), DEFAULT_MIN_GAP_AREA_M2, 0.0
        )
        self.add_number(
            self.MAX_AREA,
            self.tr("Maximum gap area (m², 0 = no limit; ForestGapR uses 10000)"),
            0.0,
            0.0,
        )
        for key, label in (
            (self.CHM, self.tr("Canopy height model (CHM): classic fallback, agreement")),
            (self.DTM, self.tr("Terrain model (DTM): CHM = DSM - DTM")),
        ):
            self.addParameter(QgsProcessingParameterRasterLayer(key, label, optional=True))
        self.addParameter(
            QgsProcessingParameterExtent(
                self.EXTENT, self.tr("Processing extent (empty: the whole DSM)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.SERVER_URL,
                self.tr("ForestGaps server URL (empty: run on this computer)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterAuthConfig(
                self.SERVER_AUTHCFG, self.tr("Server token"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(QgsProcessingOutputString(self.METHOD, self.tr("Method (model/classic)")))
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
        if parameters.get(self.CHM) and parameters.get(self.DTM):
            return (
                f"{self.label_of(self.CHM)} and {self.label_of(self.DTM)} are both set; "
                "give one of them."
            )
        url = self.parameterAsString(parameters, self.SERVER_URL, context).strip()
        if url and server_url_problems(url):
            return " ".join(server_url_problems(url))
        tile_px = self.parameterAsInt(parameters, self.TILE, context)
        overlap_px = self.parameterAsInt(parameters, self.OVERLAP, context)
        if 2 * overlap_px >= tile_px:
            return (
                f"Overlap is {overlap_px} px; it must be below half the tile size "
                f"({tile_px / 2:g} px): lower the overlap or raise the tile size."
            )
        return None

    def config_keys(self) -> dict[str, str]:
        """InferenceConfig field -> this algorithm's parameter key."""
        return {
            "tile_size_px": self.TILE, "overlap_px": self.OVERLAP, "batch_size": self.BATCH,
            "min_gap_area_m2": self.MIN_AREA, "max_gap_area_m2": self.MAX_AREA,
        }  # fmt: skip

    def config_problem(self, error: ValueError, keys: Any = None) -> str:
        """A pydantic error on InferenceConfig as one line naming the dialog's fields."""
        return super().config_problem(error, keys or self.config_keys())

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        dsm_path, dsm_crs = self.raster_path(parameters, self.INPUT, context)
        reference = {
            kind: self.raster_path(parameters, key, context)
            for kind, key in (("chm", self.CHM), ("dtm", self.DTM))
            if parameters.get(key)
        }
        server_url = self.parameterAsString(parameters, self.SERVER_URL, context).strip()
        if not server_url and not (reference and not has_model_runtime()):
            require_model_runtime()
        try:
            thresholds_m = parse_thresholds(
                self.parameterAsString(parameters, self.THRESHOLDS, context)
            )
        except ValueError as error:
            raise QgsProcessingException(str(error)) from error
        keys = self.config_keys()
        values: dict[str, Any] = {
            field: self.parameterAsInt(parameters, key, context)
            for field, key in keys.items()
            if field in ("tile_size_px", "overlap_px", "batch_size")
        }
        values["min_gap_area_m2"] = self.parameterAsDouble(parameters, self.MIN_AREA, context)
        values["max_gap_area_m2"] = (
            self.parameterAsDouble(parameters, self.MAX_AREA, context) or None
        )
        remote = None
        if server_url:
            from forestgaps_engine.detection.remote import SERVER_HINT
            from forestgaps_engine.errors import ConfigError

            from ..messages import summary_line
            from ..remote import qgis_server, token_hint

            authcfg = self.parameterAsString(parameters, self.SERVER_AUTHCFG, context).strip()
            fix = token_hint("the algorithm's dialog (parameter SERVER_AUTHCFG)")
            try:
                remote = qgis_server(server_url, authcfg, hint=SERVER_HINT, token_fix=fix)
            except ConfigError as error:  # the configuration is missing or holds no token
                raise QgsProcessingException(summary_line(error)) from None
        overrides = {"dsm": dsm_crs} | {kind: crs for kind, (_path, crs) in reference.items()}
        prior_path, _prior_crs = self.raster_path(parameters, self.TERRAIN_PRIOR, context)
        result = self.detect(
            feedback, context, dsm=dsm_path, thresholds_m=list(thresholds_m),
            out_dir=Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)),
            model=self.parameterAsFile(parameters, self.MODEL, context).strip() or "default",
            route="classic" if reference and not server_url and not has_model_runtime() else "auto",
            extent=self._extent(parameters, context), remote=remote,
            crs_overrides={kind: crs for kind, crs in overrides.items() if crs} or None,
            config=self.inference_config(values, keys),
            terrain_prior=prior_path,
            **{kind: path for kind, (path, _crs) in reference.items()},
        )  # fmt: skip
        return {
            self.METHOD: result.method,
            self.OUTPUT_FOLDER: str(result.out_dir),
            self.SUMMARY: str(result.summary_path),
            self.N_GAPS: result.thresholds[0].n_gaps,
        }

    def _extent(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> tuple[float, float, float, float] | None:
        """The extent parameter in the DSM layer's CRS, or None when not set."""
        if not parameters.get(self.EXTENT):
            return None
        dsm = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        rectangle = self.parameterAsExtent(parameters, self.EXTENT, context, dsm.crs())
        if rectangle.isNull() or rectangle.isEmpty():
            return None
        return (
            rectangle.xMinimum(), rectangle.yMinimum(),
            rectangle.xMaximum(), rectangle.yMaximum(),
        )  # fmt: skip


ALGORITHM = DetectGapsAlgorithm

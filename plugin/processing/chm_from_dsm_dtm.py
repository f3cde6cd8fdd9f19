"""Processing algorithm ``forestgaps:chmfromdsmdtm``: canopy height = DSM - DTM.

Thin: parameters -> ``forestgaps_engine.detection.write_chm`` (both rasters onto the
DSM's metric grid, negatives clipped to 0, a float32 GeoTIFF) -> the written path.
"""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies


class ChmFromDsmDtmAlgorithm(ForestGapsAlgorithm):
    """Canopy height model from a DSM and a DTM."""

    CLI_FLAGS = {"--dsm": "DSM", "--dtm": "DTM", "--out": "OUTPUT"}
    DSM = "DSM"
    DTM = "DTM"
    OUTPUT = "OUTPUT"

    NAME = "chmfromdsmdtm"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("ChmFromDsmDtmAlgorithm", "CHM from DSM and DTM")
    GROUP = QT_TRANSLATE_NOOP("ChmFromDsmDtmAlgorithm", "Height rasters")
    GROUP_ID = "heightrasters"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "ChmFromDsmDtmAlgorithm",
        "Computes a canopy height model (CHM = DSM - DTM, metres above ground). The DTM "
        "is resampled (bilinear) onto the DSM's grid, moved to a metric CRS when the "
        "DSM is in degrees; negative heights are set to 0 and cells without data in "
        "either input are nodata. Both rasters must overlap."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.DSM, self.tr("DSM (surface, metres)"))
        )
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.DTM, self.tr("DTM (ground, metres)"))
        )
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("CHM")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        from forestgaps_engine.detection import write_chm

        dsm_path, dsm_crs = self.raster_path(parameters, self.DSM, context)
        dtm_path, dtm_crs = self.raster_path(parameters, self.DTM, context)
        overrides = {key: crs for key, crs in (("dsm", dsm_crs), ("dtm", dtm_crs)) if crs}
        target = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        written = self.call_engine(feedback, write_chm, dsm_path, dtm_path, target, overrides)
        return {self.OUTPUT: str(written)}


ALGORITHM = ChmFromDsmDtmAlgorithm

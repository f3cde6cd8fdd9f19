"""Processing algorithm ``forestgaps:chmfromdsmdtm``: canopy height = DSM - DTM.

Thin: both rasters onto the DSM's metric grid (``harmonize``), subtract
(``chm_from_dsm_dtm``, negatives clipped to 0), write a float32 GeoTIFF.
"""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies
from .gaps_from_chm import layer_crs_override, raster_file_of


def write_chm(
    dsm_path: str, dtm_path: str, target: str, crs_overrides: dict[str, str],
    progress: Any = None, cancel: Any = None,
) -> str:  # fmt: skip
    """Harmonize DSM and DTM, subtract, write ``target``; the engine calls in one place.

    Returns:
        The written path.
    """
    from forestgaps_engine.geo.raster_io import HEIGHT_PROFILE, write_array
    from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize
    from forestgaps_engine.progress import Reporter

    reporter = Reporter(progress, cancel)
    reporter.report(0.0, "reading and aligning DSM and DTM")
    bands = harmonize({"dsm": dsm_path, "dtm": dtm_path}, crs_overrides=crs_overrides)
    reporter.check()
    reporter.report(0.6, "computing DSM - DTM")
    chm = chm_from_dsm_dtm(bands["dsm"], bands["dtm"])
    reporter.check()
    written = write_array(target, chm.values, chm.grid, HEIGHT_PROFILE)
    reporter.report(1.0, "done")
    return str(written)


class ChmFromDsmDtmAlgorithm(ForestGapsAlgorithm):
    """Canopy height model from a DSM and a DTM."""

    CLI_FLAGS = {"--dsm": "DSM", "--dtm": "DTM", "--out": "OUTPUT"}
    DSM = "DSM"
    DTM = "DTM"
    OUTPUT = "OUTPUT"

    def name(self) -> str:
        return "chmfromdsmdtm"

    def displayName(self) -> str:  # name fixed by QGIS
        return self.tr("CHM from DSM and DTM")

    def group(self) -> str:
        return self.tr("Height rasters")

    def groupId(self) -> str:  # name fixed by QGIS
        return "heightrasters"

    def shortHelpString(self) -> str:  # name fixed by QGIS
        return self.tr(
            "Computes a canopy height model (CHM = DSM - DTM, metres above ground). The DTM "
            "is resampled (bilinear) onto the DSM's grid, moved to a metric CRS when the "
            "DSM is in degrees; negative heights are set to 0 and cells without data in "
            "either input are nodata. Both rasters must overlap."
        )

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
        dsm = self.parameterAsRasterLayer(parameters, self.DSM, context)
        dtm = self.parameterAsRasterLayer(parameters, self.DTM, context)
        dsm_path, dtm_path = (
            raster_file_of(dsm, self.label_of(self.DSM)),
            raster_file_of(dtm, self.label_of(self.DTM)),
        )
        overrides = {
            key: crs
            for key, crs in (("dsm", layer_crs_override(dsm)), ("dtm", layer_crs_override(dtm)))
            if crs is not None
        }
        target = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        written = self.call_engine(
            feedback, write_chm, str(dsm_path), str(dtm_path), target, overrides
        )
        return {self.OUTPUT: written}


ALGORITHM = ChmFromDsmDtmAlgorithm

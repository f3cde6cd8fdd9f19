"""Processing algorithm ``forestgaps:rasterizelidar``: LAS/LAZ -> DSM, DTM and CHM rasters.

Thin: parameters -> ``forestgaps_engine.geo.lidar.rasterize_point_cloud``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies
from .gaps_from_chm import load_on_completion

# Enum index -> the engine's ``normalized`` argument.
CLOUD_KINDS = (
    ("Detect (refuse a height-normalised cloud)", None),
    ("Raw elevations (skip the detection)", "raw"),
    ("Height-normalised (z = height above ground): CHM only", "chm"),
)


class RasterizeLidarAlgorithm(ForestGapsAlgorithm):
    """Rasterise a point cloud into DSM, DTM and CHM."""

    CLI_FLAGS = {
        "--resolution": "RESOLUTION",
        "--crs": "CRS",
        "--normalized": "CLOUD_KIND",
        "--out": "OUTPUT_FOLDER",
    }
    INPUT = "INPUT"
    RESOLUTION = "RESOLUTION"
    CRS = "CRS"
    CLOUD_KIND = "CLOUD_KIND"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    OUTPUTS = ("DSM", "DTM", "CHM")

    NAME = "rasterizelidar"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("RasterizeLidarAlgorithm", "Rasterize LiDAR point cloud (DSM, DTM, CHM)")
    GROUP = QT_TRANSLATE_NOOP("RasterizeLidarAlgorithm", "Height rasters")
    GROUP_ID = "heightrasters"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "RasterizeLidarAlgorithm",
        "Rasterises a LAS/LAZ point cloud at the given cell size (metres): DSM = highest "
        "non-noise return per cell (holes filled, pits raised), DTM = lowest ground "
        "point (class 2), interpolated elsewhere, CHM = DSM - DTM clipped at 0. Writes "
        "dsm.tif, dtm.tif and chm.tif (Cloud Optimized GeoTIFF) into the output folder.\n\n"
        "CRS: use it when the file's header has none or a wrong one. A height-normalised "
        "cloud (z already above ground) gives a CHM only."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT,
                self.tr("Point cloud (.las, .laz)"),
                fileFilter="LiDAR (*.las *.laz *.LAS *.LAZ)",
            )
        )
        self.add_number(self.RESOLUTION, self.tr("Cell size (m)"), 1.0, 0.05, 100.0)
        self.addParameter(
            QgsProcessingParameterCrs(
                self.CRS, self.tr("CRS (when the header has none)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.CLOUD_KIND,
                self.tr("Point heights"),
                options=[label for label, _mode in CLOUD_KINDS],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        for name in self.OUTPUTS:
            self.addOutput(QgsProcessingOutputRasterLayer(name, name))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        cloud = Path(self.parameterAsFile(parameters, self.INPUT, context))
        resolution_m = self.parameterAsDouble(parameters, self.RESOLUTION, context)
        crs = self.parameterAsCrs(parameters, self.CRS, context)
        crs_text = (crs.authid() or crs.toWkt()) if crs.isValid() else None
        normalized = CLOUD_KINDS[self.parameterAsEnum(parameters, self.CLOUD_KIND, context)][1]
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))

        from forestgaps_engine.geo.lidar import rasterize_point_cloud

        paths = self.call_engine(
            feedback, rasterize_point_cloud, cloud, resolution_m, out_dir,
            crs=crs_text, normalized=normalized,
        )  # fmt: skip
        results: dict[str, Any] = {self.OUTPUT_FOLDER: str(out_dir)}
        for name, path in paths.items():
            results[name.upper()] = str(path)
            load_on_completion(context, Path(path), f"{cloud.stem} {name}")
        return results


ALGORITHM = RasterizeLidarAlgorithm

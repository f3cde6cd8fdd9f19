"""Processing algorithm ``forestgaps:detectregion``: gaps over a folder of tiles.

Thin: parameters -> ``forestgaps_engine.region.run.region`` on a local Dask cluster ->
output paths. The workers are threads of QGIS's process: QGIS's executable is not a
Python interpreter Dask could start worker processes with.
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
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies

METHODS = ("model", "classic")
DEFAULT_THRESHOLD_M = 5.0
DEFAULT_BLOCK_SIZE_PX = 2048


class DetectRegionAlgorithm(ForestGapsAlgorithm):
    """Seamless gap maps over a folder of DSM or CHM tiles."""

    CLI_FLAGS = {
        "--threshold": "THRESHOLD",
        "--method": "METHOD",
        "--chm": "METHOD",
        "--block-size": "BLOCK_SIZE",
        "--workers": "WORKERS",
        "--out": "OUTPUT_FOLDER",
    }
    INPUT_FOLDER = "INPUT_FOLDER"
    THRESHOLD = "THRESHOLD"
    METHOD = "METHOD"
    BLOCK_SIZE = "BLOCK_SIZE"
    WORKERS = "WORKERS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    MASK = "MASK"
    GAPS = "GAPS"
    SUMMARY = "SUMMARY"
    N_GAPS = "N_GAPS"

    NAME = "detectregion"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DetectRegionAlgorithm", "Detect gaps over a region")
    GROUP = QT_TRANSLATE_NOOP("DetectRegionAlgorithm", "Gap detection")
    GROUP_ID = "gapdetection"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "DetectRegionAlgorithm",
        "Maps canopy gaps over a folder of tiles (DSMs for the model, CHMs for the classic "
        "detector), as if the tiles were one raster: a gap crossing a tile edge is one gap. "
        "Tiles in other CRSs are warped onto the grid of most tiles. The region is computed "
        "in blocks on a local Dask cluster; a run stopped half-way continues where it "
        "stopped when started again with the same output folder.\n\n"
        "Writes a gap mask (and for the model a gap probability) as Cloud-Optimized "
        "GeoTIFFs, the gap polygons as a GeoPackage and GeoParquet, and summary.json. "
        'Needs Dask: pip install ".[region]" into QGIS\'s Python.'
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT_FOLDER, self.tr("Folder of tiles"),
                behavior=QgsProcessingParameterFile.Behavior.Folder,
            )
        )  # fmt: skip
        self.add_number(
            self.THRESHOLD, self.tr("Height threshold (m)"), DEFAULT_THRESHOLD_M, 0.01, 150.0
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.METHOD, self.tr("Method"),
                options=[self.tr("Model (DSM tiles)"), self.tr("Classic (CHM tiles)")],
                defaultValue=0,
            )
        )  # fmt: skip
        self.add_number(
            self.BLOCK_SIZE, self.tr("Block size (pixels)"), DEFAULT_BLOCK_SIZE_PX, 64, 16384,
            is_integer=True,
        )  # fmt: skip
        self.add_number(self.WORKERS, self.tr("Workers"), 2, 1, 256, is_integer=True)
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, self.tr("Output folder"))
        )
        self.addOutput(QgsProcessingOutputRasterLayer(self.MASK, self.tr("Gap mask")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.GAPS, self.tr("Gap polygons")))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("Summary (JSON)")))
        self.addOutput(QgsProcessingOutputNumber(self.N_GAPS, self.tr("Number of gaps")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        from forestgaps_engine.region.cluster import require_dask
        from forestgaps_engine.region.run import RegionSettings, region

        self.call_engine(feedback, _checked, require_dask)
        folder = Path(self.parameterAsFile(parameters, self.INPUT_FOLDER, context))
        if not folder.is_dir():
            raise QgsProcessingException(
                f"{self.label_of(self.INPUT_FOLDER)}: {folder} is not a folder; pick the "
                "folder that holds the tiles."
            )
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        out_dir = Path(self.parameterAsString(parameters, self.OUTPUT_FOLDER, context))
        settings = RegionSettings(
            method=method,
            block_size_px=self.parameterAsInt(parameters, self.BLOCK_SIZE, context),
        )
        result = self.call_engine(
            feedback, region, [folder],
            [self.parameterAsDouble(parameters, self.THRESHOLD, context)], out_dir, settings,
            "local", self.parameterAsInt(parameters, self.WORKERS, context), processes=False,
        )  # fmt: skip
        item = result.summary["thresholds"][0]
        from ._layers import load_on_completion

        mask = out_dir / item["files"]["mask"]
        gaps = out_dir / item["files"]["gaps"]
        load_on_completion(context, mask, f"gap mask {item['threshold_m']:g} m (region)")
        load_on_completion(context, gaps, f"gaps {item['threshold_m']:g} m (region)")
        return {
            self.OUTPUT_FOLDER: str(out_dir),
            self.MASK: str(mask),
            self.GAPS: str(gaps),
            self.SUMMARY: str(result.summary_path),
            self.N_GAPS: item["n_gaps"],
        }


def _checked(check: Any, progress: Any = None, cancel: Any = None) -> None:
    """Run a dependency check through ``call_engine`` (its errors then read in QGIS words)."""
    check()


ALGORITHM = DetectRegionAlgorithm

"""Processing algorithm ``forestgaps:gapstatistics``: per-gap statistics as CSV.

Thin: gap-id raster + CHM on one grid (``harmonize``, nearest for ids) ->
``forestgaps_engine.gaps.stats.gap_stats`` -> ``write_stats_csv`` (ForestGapR's
GapStats columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from ._base import ForestGapsAlgorithm
from ._engine_call import require_dependencies
from .gaps_from_chm import layer_crs_override, raster_file_of


def write_gap_statistics(
    gaps_path: str, chm_path: str, target: str, crs_overrides: dict[str, str],
    progress: Any = None, cancel: Any = None,
) -> int:  # fmt: skip
    """Statistics of every gap id (renumbered 1..n in id order) into ``target``.

    Returns:
        The number of gaps.
    """
    import numpy as np

    from forestgaps_engine.gaps.stats import gap_stats, write_stats_csv
    from forestgaps_engine.geo.warp import harmonize
    from forestgaps_engine.progress import Reporter

    reporter = Reporter(progress, cancel)
    reporter.report(0.0, "reading the gap ids and the CHM")
    bands = harmonize(
        {"chm": chm_path, "gaps": gaps_path}, crs_overrides=crs_overrides, mask_keys=("gaps",)
    )
    reporter.check()
    gaps, chm = bands["gaps"], bands["chm"]
    ids = np.where(gaps.valid & np.isfinite(gaps.values), gaps.values, 0).astype(np.int64)
    ids[ids < 0] = 0
    # gap_stats wants ids 1..n all present: renumber (a filtered raster may skip ids).
    unique_ids, labels = np.unique(ids, return_inverse=True)
    labels = labels.reshape(ids.shape) + (0 if unique_ids[0] == 0 else 1)
    reporter.report(0.5, "computing statistics")
    stats = gap_stats(labels, chm.values, chm.grid.cell_area_m2)
    reporter.check()
    write_stats_csv(target, stats)
    reporter.report(1.0, "done")
    return len(stats)


class GapStatisticsAlgorithm(ForestGapsAlgorithm):
    """Per-gap statistics (area, CHM max/min/mean/sd/gini/range) to a CSV."""

    CLI_FLAGS = {"--chm": "CHM", "--out": "OUTPUT"}
    GAPS = "GAPS"
    CHM = "CHM"
    OUTPUT = "OUTPUT"
    N_GAPS = "N_GAPS"

    NAME = "gapstatistics"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("GapStatisticsAlgorithm", "Gap statistics (CSV)")
    GROUP = QT_TRANSLATE_NOOP("GapStatisticsAlgorithm", "Gap detection")
    GROUP_ID = "gapdetection"
    # No trailing comma: pylupdate5 drops a QT_TRANSLATE_NOOP call that has one.
    HELP = QT_TRANSLATE_NOOP(
        "GapStatisticsAlgorithm",
        "Computes ForestGapR's GapStats for every gap of a gap-id raster (0 = no gap, "
        "1..n = gap ids, e.g. the output of 'Gaps from CHM'): area (m²) and the "
        "maximum, minimum, mean, standard deviation, Gini coefficient and range of the "
        "canopy height inside the gap. The gap raster is aligned on the CHM's grid "
        "(nearest neighbour). Ids are renumbered 1..n in increasing order."
    )  # fmt: skip

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:  # name fixed by QGIS
        self.addParameter(QgsProcessingParameterRasterLayer(self.GAPS, self.tr("Gap id raster")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.CHM, self.tr("CHM (metres)")))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Gap statistics"), fileFilter="CSV files (*.csv)"
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.N_GAPS, self.tr("Number of gaps")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback | None,
    ) -> dict[str, Any]:  # name fixed by QGIS
        require_dependencies(("core",))
        gaps = self.parameterAsRasterLayer(parameters, self.GAPS, context)
        chm = self.parameterAsRasterLayer(parameters, self.CHM, context)
        gaps_path, chm_path = (
            raster_file_of(gaps, self.label_of(self.GAPS)),
            raster_file_of(chm, self.label_of(self.CHM)),
        )
        overrides = {
            key: crs
            for key, crs in (("gaps", layer_crs_override(gaps)), ("chm", layer_crs_override(chm)))
            if crs is not None
        }
        target = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        n_gaps = self.call_engine(
            feedback, write_gap_statistics, str(gaps_path), str(chm_path), target, overrides
        )
        return {self.OUTPUT: target, self.N_GAPS: n_gaps}


ALGORITHM = GapStatisticsAlgorithm

"""Classic canopy gap detection with ForestGapR semantics: labels, per-gap stats, size laws.

``gaps_from_chm`` (in ``pipeline``) is the one public call front ends use; the pieces are
importable for the evaluation baselines and the label builder.
"""

from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017
from forestgaps_engine.gaps.stats import GapStats, gap_stats, write_stats_csv

__all__ = [
    "GapStats",
    "gap_stats",
    "label_gaps",
    "lambda_asner_2013",
    "lambda_hanel_2017",
    "write_stats_csv",
]

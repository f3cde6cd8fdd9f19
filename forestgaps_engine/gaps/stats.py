"""Per-gap statistics exactly as ForestGapR's ``GapStats`` computes and ``write.csv`` prints them.

Columns: gap_id, gap_area, chm_max, chm_min, chm_mean, chm_sd, chm_gini, chm_range; the
last four rounded to 2 decimals with R's ``round``; sd and gini are NA for one-cell gaps.
R accumulates sums in long double (``mean``, ``sd``, ``sum``), so the sums here do too,
which keeps the rounded values identical at the .xx5 boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forestgaps_engine.files import write_text_atomic
from forestgaps_engine.gaps.r_compat import r_number, r_round

STATS_COLUMNS = (
    "gap_id",
    "gap_area",
    "chm_max",
    "chm_min",
    "chm_mean",
    "chm_sd",
    "chm_gini",
    "chm_range",
)


@dataclass(frozen=True)
class GapStats:
    """Statistics of n gaps, one entry per gap id 1..n (all arrays shape (n,)).

    Attributes:
        gap_id: int64 ids 1..n.
        gap_area: float64 area in m2 (cells x cell area).
        chm_max: float64 highest height in the gap, metres (not rounded).
        chm_min: float64 lowest height, metres (not rounded).
        chm_mean: float64 mean height, metres, rounded to 2 decimals.
        chm_sd: float64 sample standard deviation, rounded; NaN for one-cell gaps.
        chm_gini: float64 Gini coefficient (finite-sample corrected), rounded; NaN for
            one-cell gaps (and for gaps whose heights are all 0).
        chm_range: float64 chm_max - chm_min, rounded.
    """

    gap_id: np.ndarray
    gap_area: np.ndarray
    chm_max: np.ndarray
    chm_min: np.ndarray
    chm_mean: np.ndarray
    chm_sd: np.ndarray
    chm_gini: np.ndarray
    chm_range: np.ndarray

    def __len__(self) -> int:
        return int(self.gap_id.size)


def gap_stats(labels: np.ndarray, height_m: np.ndarray, cell_area_m2: float) -> GapStats:
    """Compute ForestGapR's per-gap statistics, vectorised.

    Args:
        labels: (H, W) int gap ids, 0 = no gap, ids 1..n all present.
        height_m: (H, W) heights in metres (NaN allowed outside gaps).
        cell_area_m2: area of one cell.

    Returns:
        GapStats with one row per gap id (empty arrays when there is no gap).
    """
    flat_labels = np.asarray(labels).ravel()
    in_gap = flat_labels > 0
    ids = flat_labels[in_gap].astype(np.int64)
    heights = np.asarray(height_m, dtype=np.float64).ravel()[in_gap]
    n_gaps = int(ids.max()) if ids.size else 0
    counts = np.bincount(ids, minlength=n_gaps + 1)[1:]
    if n_gaps == 0:
        empty = np.zeros(0, dtype=np.float64)
        return GapStats(np.zeros(0, np.int64), *([empty] * 7))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    n = counts.astype(np.longdouble)

    # Row-major order within each gap, as R's tapply hands the values to mean and sd.
    in_scan_order = heights[np.argsort(ids, kind="stable")].astype(np.longdouble)
    mean = _r_mean(in_scan_order, starts, counts)
    repeated_mean = np.repeat(mean, counts)
    squares = np.add.reduceat((in_scan_order - repeated_mean) ** 2, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((squares / (n - 1)).astype(np.float64))
    sd[counts < 2] = np.nan

    in_value_order = heights[np.lexsort((heights, ids))]
    chm_min = in_value_order[starts]
    chm_max = in_value_order[starts + counts - 1]
    gini = _gini(in_value_order, starts, counts)

    return GapStats(
        gap_id=np.arange(1, n_gaps + 1, dtype=np.int64),
        gap_area=counts * float(cell_area_m2),
        chm_max=chm_max,
        chm_min=chm_min,
        chm_mean=r_round(mean.astype(np.float64), 2),
        chm_sd=r_round(sd, 2),
        chm_gini=r_round(gini, 2),
        chm_range=r_round(chm_max - chm_min, 2),
    )


def _r_mean(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """R's ``mean``: long-double sum / n, then one correction pass (returns long double)."""
    n = counts.astype(np.longdouble)
    mean = np.add.reduceat(values, starts) / n
    correction = np.add.reduceat(values - np.repeat(mean, counts), starts)
    return mean + correction / n


def _gini(sorted_values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ForestGapR's GiniCoeff: (2 sum(x_i i) / sum(x) - (n + 1)) / (n - 1), x sorted."""
    rank = np.arange(sorted_values.size) - np.repeat(starts, counts) + 1
    weighted = np.add.reduceat(sorted_values.astype(np.longdouble) * rank, starts)
    total = np.add.reduceat(sorted_values.astype(np.longdouble), starts)
    n = counts.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2.0 * weighted.astype(np.float64) / total.astype(np.float64) - (n + 1.0)
        return g / (n - 1.0)


def stats_csv_text(stats: GapStats) -> str:
    """The CSV text R's ``write.csv(stats, row.names = FALSE)`` would produce."""
    lines = [",".join(f'"{name}"' for name in STATS_COLUMNS)]
    columns = [getattr(stats, name) for name in STATS_COLUMNS[1:]]
    for row, gap_id in enumerate(stats.gap_id):
        cells = [str(int(gap_id))] + [r_number(float(column[row])) for column in columns]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_stats_csv(target: str | Path, stats: GapStats) -> Path:
    """Write the per-gap statistics as CSV (R formatting, NA for missing), atomically."""
    return write_text_atomic(target, stats_csv_text(stats))

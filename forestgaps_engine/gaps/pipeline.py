"""``gaps_from_chm``: the one engine call behind ``forestgaps gaps-from-chm`` and the plugin.

For each threshold T (label ``t{T:g}``) it writes ``gaps_tT.tif`` (int32 gap ids, 0 = no
gap, on the input grid), ``gaps_tT_stats.csv`` (ForestGapR's GapStats), ``gaps_tT.gpkg``
(one MultiPolygon per gap with area, perimeter and the stats), then ``summary.json``.
Every file is written atomically; on failure or cancel, files this call already wrote
are removed too, so a run leaves all of its outputs or none.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.errors import ConfigError, CRSMismatchError
from forestgaps_engine.files import (
    all_or_nothing,
    refuse_overwriting_inputs,
    threshold_label,
    threshold_labels,
    write_json_atomic,
)
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.gaps.size_law import lambda_asner_2013, lambda_hanel_2017
from forestgaps_engine.gaps.size_plot import write_size_frequency_plot
from forestgaps_engine.gaps.stats import GapStats, gap_stats, write_stats_csv
from forestgaps_engine.gaps.thresholds import validate_thresholds
from forestgaps_engine.geo.crs import is_geographic
from forestgaps_engine.geo.raster_io import GAP_ID_PROFILE, read_height_band, write_array
from forestgaps_engine.geo.vectorize import write_label_polygons
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

GPKG_STATS_COLUMNS = ("chm_max", "chm_min", "chm_mean", "chm_sd", "chm_gini", "chm_range")


@dataclass(frozen=True)
class ThresholdResult:
    """What one threshold produced (areas in m2, paths absolute)."""

    threshold_m: float
    n_gaps: int
    total_gap_area_m2: float
    largest_gap_m2: float
    gap_fraction: float
    lambda_hanel: float | None
    lambda_asner: float | None
    raster_path: Path
    stats_path: Path
    gpkg_path: Path
    size_plot_path: Path

    @property
    def label(self) -> str:
        """``t10``, ``t7.5``, ..."""
        return threshold_label(self.threshold_m)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready figures (file names relative to the output folder)."""
        return {
            "threshold_m": self.threshold_m,
            "n_gaps": self.n_gaps,
            "total_gap_area_m2": self.total_gap_area_m2,
            "largest_gap_m2": self.largest_gap_m2,
            "gap_fraction": self.gap_fraction,
            "lambda_hanel": self.lambda_hanel,
            "lambda_asner": self.lambda_asner,
            "files": {
                "raster": self.raster_path.name,
                "stats": self.stats_path.name,
                "gpkg": self.gpkg_path.name,
                "size_frequency": self.size_plot_path.name,
            },
        }


@dataclass(frozen=True)
class GapsResult:
    """Everything ``gaps_from_chm`` wrote, one ThresholdResult per threshold (ascending)."""

    chm_path: Path
    out_dir: Path
    crs: str | None
    cell_area_m2: float
    valid_area_m2: float
    thresholds: tuple[ThresholdResult, ...]
    summary_path: Path

    def outputs(self) -> list[Path]:
        """Every file written, summary last."""
        per_threshold = (
            (t.raster_path, t.stats_path, t.gpkg_path, t.size_plot_path) for t in self.thresholds
        )
        return [*itertools.chain.from_iterable(per_threshold), self.summary_path]


def validate_gap_parameters(
    thresholds_m: Sequence[float], min_area_m2: float, max_area_m2: float
) -> tuple[float, ...]:
    """Check the parameters; returns the thresholds sorted without duplicates.

    Raises:
        ConfigError: no threshold, a threshold <= 0 or not finite, a negative or
            non-finite area bound, or min_area_m2 > max_area_m2.
    """
    thresholds = validate_thresholds(thresholds_m)
    for name, value in (("min_area_m2", min_area_m2), ("max_area_m2", max_area_m2)):
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{name} must be a finite area >= 0 m2, got {value}")
    if min_area_m2 > max_area_m2:
        raise ConfigError(
            f"min_area_m2 ({min_area_m2:g}) is larger than max_area_m2 ({max_area_m2:g})",
            hint="Swap the two values (--min-area must be <= --max-area).",
        )
    return tuple(thresholds)


def output_paths(out_dir: str | Path, thresholds_m: Sequence[float]) -> list[Path]:
    """Every file ``gaps_from_chm`` writes into ``out_dir``, summary last.

    Raises:
        ConfigError: two thresholds share a file-name label (5 and 5.0000001).
    """
    out = Path(out_dir)
    paths = []
    for label in threshold_labels(thresholds_m):
        paths += [out / f"gaps_{label}.tif", out / f"gaps_{label}_stats.csv",
                  out / f"gaps_{label}.gpkg"]  # fmt: skip
    return paths + [out / "summary.json"]


def gaps_from_chm(
    chm_path: str | Path,
    thresholds_m: Sequence[float],
    out_dir: str | Path,
    min_area_m2: float = 1.0,
    max_area_m2: float = 10000.0,
    crs: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> GapsResult:
    """Detect gaps in a canopy height model at each threshold and write all outputs.

    Args:
        chm_path: single-band raster of canopy heights in metres (nodata = no data).
        thresholds_m: gap cells have height <= threshold (several thresholds allowed).
        out_dir: output folder (created if needed).
        min_area_m2: smallest kept gap area (inclusive).
        max_area_m2: largest kept gap area (inclusive).
        crs: CRS to assign when the raster has none ("EPSG:2154", WKT); it replaces a
            stored CRS, with a warning.
        progress: called with (fraction 0..1, message).
        cancel: returns True to stop; outputs of this call are then removed.

    Returns:
        GapsResult with per-threshold figures and paths.

    Raises:
        ConfigError: invalid thresholds or area bounds, or two thresholds sharing a
            file-name label.
        DataError: an output would overwrite the CHM.
        DiskFullError: the output folder ran out of space (previous files untouched).
        InvalidDataFormatError: the file is not a single-band raster.
        EmptyRasterError: the raster has no valid cell.
        CRSMismatchError: a geographic or non-metric CRS (areas need metres).
        CancelledError: the caller cancelled.
    """
    thresholds = validate_gap_parameters(thresholds_m, min_area_m2, max_area_m2)
    refuse_overwriting_inputs([chm_path], output_paths(out_dir, thresholds))
    reporter = Reporter(progress, cancel)
    reporter.report(0.0, f"reading {chm_path}")
    band = read_height_band(chm_path, kind="chm", crs_override=crs)
    if is_geographic(band.grid.crs):
        raise CRSMismatchError(
            f"{chm_path}: CRS {band.grid.crs} is in degrees; gap areas need metres",
            hint="Reproject the CHM to a metric CRS, e.g. gdalwarp -t_srs EPSG:<UTM zone>.",
        )
    cell_area_m2 = band.grid.cell_area_m2
    valid_area_m2 = float(np.count_nonzero(band.valid)) * cell_area_m2
    with all_or_nothing(out_dir) as (out, written):
        results = []
        for index, threshold_m in enumerate(thresholds):
            step = reporter.sub(0.05 + 0.9 * index / len(thresholds), 0.9 / len(thresholds))
            results.append(
                _run_threshold(band, threshold_m, min_area_m2, max_area_m2, out, step, written)
            )
        reporter.report(0.97, "writing summary.json")
        summary_path = write_json_atomic(
            out / "summary.json",
            {
                "chm": str(chm_path),
                "crs": band.grid.crs,
                "cell_area_m2": cell_area_m2,
                "valid_area_m2": valid_area_m2,
                "min_area_m2": float(min_area_m2),
                "max_area_m2": float(max_area_m2),
                "thresholds": {r.label: r.summary() for r in results},
            },
        )
        written.append(summary_path)
    reporter.report(1.0, f"{len(thresholds)} threshold(s) done in {out}")
    return GapsResult(
        chm_path=Path(chm_path),
        out_dir=out,
        crs=band.grid.crs,
        cell_area_m2=cell_area_m2,
        valid_area_m2=valid_area_m2,
        thresholds=tuple(results),
        summary_path=summary_path,
    )


def _run_threshold(
    band: Any,
    threshold_m: float,
    min_area_m2: float,
    max_area_m2: float,
    out: Path,
    reporter: Reporter,
    written: list[Path],
) -> ThresholdResult:
    """Label, measure and write one threshold; appends each finished file to ``written``."""
    label = threshold_label(threshold_m)
    grid = band.grid
    reporter.report(0.0, f"{label}: labelling gaps")
    labels = label_gaps(band.values, threshold_m, grid.cell_area_m2, min_area_m2, max_area_m2)
    reporter.report(0.2, f"{label}: gap statistics")
    stats = gap_stats(labels, band.values, grid.cell_area_m2)
    raster_path = out / f"gaps_{label}.tif"
    stats_path = out / f"gaps_{label}_stats.csv"
    gpkg_path = out / f"gaps_{label}.gpkg"
    reporter.report(0.35, f"{label}: writing {raster_path.name}")
    written.append(write_array(raster_path, labels, grid, GAP_ID_PROFILE))
    written.append(write_stats_csv(stats_path, stats))
    reporter.report(0.5, f"{label}: polygons")
    written.append(_write_gap_polygons(gpkg_path, f"gaps_{label}", raster_path, stats, grid))
    areas = stats.gap_area
    reporter.report(0.9, f"{label}: size-frequency plot")
    size_plot_path = out / f"size_frequency_{label}.png"
    written.append(
        write_size_frequency_plot(size_plot_path, areas, f"Gap size-frequency, {threshold_m:g} m")
    )
    total_m2 = float(areas.sum())
    result = ThresholdResult(
        threshold_m=threshold_m,
        n_gaps=len(stats),
        total_gap_area_m2=total_m2,
        largest_gap_m2=float(areas.max()) if areas.size else 0.0,
        gap_fraction=total_m2 / (float(np.count_nonzero(band.valid)) * grid.cell_area_m2),
        lambda_hanel=lambda_hanel_2017(areas),
        lambda_asner=lambda_asner_2013(areas),
        raster_path=raster_path,
        stats_path=stats_path,
        gpkg_path=gpkg_path,
        size_plot_path=size_plot_path,
    )
    logger.info("%s: %d gaps, %.0f m2 (%.1f%%)", label, result.n_gaps, total_m2,
                100 * result.gap_fraction)  # fmt: skip
    reporter.report(1.0, f"{label}: {result.n_gaps} gaps")
    return result


def _write_gap_polygons(
    target: Path, layer: str, raster_path: Path, stats: GapStats, grid: Any
) -> Path:
    """GDAL polygonizes the gap raster just written (ids 1..n, in ``stats`` order)."""
    columns = {"gap_id": stats.gap_id, "area_m2": stats.gap_area}
    columns |= {name: getattr(stats, name) for name in GPKG_STATS_COLUMNS}
    fields = [("gap_id", "INTEGER"), ("area_m2", "REAL"), ("perimeter_m", "REAL")]
    fields += [(name, "REAL") for name in GPKG_STATS_COLUMNS]
    # GeoPackage table names cannot hold the dot of labels such as t7.5.
    return write_label_polygons(
        target, layer.replace(".", "_"), raster_path, fields, columns, grid.crs
    )

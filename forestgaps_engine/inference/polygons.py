"""Gap polygons of one threshold as a GeoPackage layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forestgaps_engine.inference.postprocess import GapLabels, GapStatistics

LAYER_NAME = "gaps"
FIELDS = (
    ("gap_id", "INTEGER"),
    ("area_m2", "REAL"),
    ("perimeter_m", "REAL"),
    ("threshold_m", "REAL"),
    ("dsm_mean_m", "REAL"),
    ("dsm_min_m", "REAL"),
    ("dsm_max_m", "REAL"),
)


def write_gap_polygons(
    target: str | Path, labels: GapLabels, statistics: GapStatistics, threshold_m: float
) -> Path:
    """Write one MultiPolygon per gap with ``gap_id, area_m2, perimeter_m, threshold_m`` and
    ``dsm_mean_m, dsm_min_m, dsm_max_m``, atomically, in the labels' CRS.

    Args:
        target: ``.gpkg`` path.
        labels: gap ids and their grid.
        statistics: per-gap DSM figures (index = gap id - 1).
        threshold_m: the threshold these gaps belong to.
    """
    from forestgaps_engine.geo.gpkg import FieldSpec, write_gpkg
    from forestgaps_engine.geo.vectorize import gap_features

    n_gaps = labels.n_gaps
    columns = {
        "threshold_m": np.full(n_gaps, float(threshold_m)),
        "dsm_mean_m": statistics.dsm_mean_m,
        "dsm_min_m": statistics.dsm_min_m,
        "dsm_max_m": statistics.dsm_max_m,
    }
    features = gap_features(labels.ids, labels.grid, columns)
    fields = [FieldSpec(name, sql_type) for name, sql_type in FIELDS]
    return write_gpkg(target, LAYER_NAME, features, fields, labels.grid.crs)

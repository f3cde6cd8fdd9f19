"""Gap polygons of one threshold as a GeoPackage layer."""

from __future__ import annotations

from pathlib import Path

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
    from forestgaps_engine.geo.vectorize import (
        VectorFeature,
        label_polygons,
        multipolygon_perimeter,
    )

    # As geo.vectorize.gap_features, with the areas already counted by strips (its
    # whole-raster bincount copies the ids to int64: 2 GB at 16384²).
    columns = {
        "dsm_mean_m": statistics.dsm_mean_m,
        "dsm_min_m": statistics.dsm_min_m,
        "dsm_max_m": statistics.dsm_max_m,
    }
    features = []
    for gap_id, polygons in label_polygons(labels.ids, labels.grid).items():
        attributes = {
            "gap_id": gap_id,
            "area_m2": float(statistics.area_m2[gap_id - 1]),
            "perimeter_m": multipolygon_perimeter(polygons),
            "threshold_m": float(threshold_m),
        }
        attributes.update({name: float(values[gap_id - 1]) for name, values in columns.items()})
        features.append(VectorFeature(polygons=polygons, attributes=attributes))
    fields = [FieldSpec(name, sql_type) for name, sql_type in FIELDS]
    return write_gpkg(target, LAYER_NAME, features, fields, labels.grid.crs)

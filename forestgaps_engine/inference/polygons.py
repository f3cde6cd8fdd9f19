"""Gap polygons of one threshold as a GeoPackage layer (GDAL polygonizes the gap ids)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forestgaps_engine.inference.postprocess import GapLabels, GapRasters, GapStatistics

# The service converts this layer to GeoJSON by name (serve/geojson.py): keep it.
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
    target: str | Path,
    labels: GapLabels | GapRasters,
    statistics: GapStatistics,
    threshold_m: float,
) -> Path:
    """Write one MultiPolygon per gap with ``gap_id, area_m2, perimeter_m, threshold_m`` and
    ``dsm_mean_m, dsm_min_m, dsm_max_m``, atomically, in the labels' CRS, with an R-tree.

    GDAL polygonizes the ids raster on disk (``GapRasters``) as it reads it; memory holds
    the polygons GDAL has open and one gap's parts, not every gap's rings.

    Args:
        target: ``.gpkg`` path.
        labels: gap ids 1..n and their grid, in memory or on disk.
        statistics: per-gap DSM figures (index = gap id - 1).
        threshold_m: the threshold these gaps belong to.
    """
    from forestgaps_engine.geo.vectorize import write_label_polygons

    n_gaps = int(statistics.area_m2.size)
    columns = {
        "gap_id": np.arange(1, n_gaps + 1),
        "area_m2": statistics.area_m2,
        "threshold_m": np.full(n_gaps, float(threshold_m)),
        "dsm_mean_m": statistics.dsm_mean_m,
        "dsm_min_m": statistics.dsm_min_m,
        "dsm_max_m": statistics.dsm_max_m,
    }
    source = labels.ids_path if isinstance(labels, GapRasters) else labels.ids
    return write_label_polygons(
        target, LAYER_NAME, source, FIELDS, columns, labels.grid.crs, labels.grid
    )

"""Gap polygons of one threshold as a GeoPackage layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.trace import TracedRings
from forestgaps_engine.inference.postprocess import GapLabels, GapRasters, GapStatistics

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


def _traced_by_strips(
    read_rows: Callable[[int, int, int, int], np.ndarray], boxes: np.ndarray, grid: Grid
) -> TracedRings:
    """``geo.trace.trace_in_strips`` on the strips post-processing reads, in CRS units."""
    from forestgaps_engine.geo.trace import trace_in_strips
    from forestgaps_engine.inference.postprocess import strip_rows_for

    traced = trace_in_strips(read_rows, boxes, grid.height_px, strip_rows_for(grid.width_px))
    return traced.transformed(grid.transform)


def _boxes_of(ids: np.ndarray) -> np.ndarray:
    """(n, 4) bounding boxes of ids 1..n (every id present)."""
    boxes = ndimage.find_objects(ids)
    return np.array(
        [[rows.start, rows.stop, cols.start, cols.stop] for rows, cols in boxes], dtype=np.int64
    ).reshape(-1, 4)


def gap_polygons(labels: GapLabels) -> TracedRings:
    """The rings of every gap of in-memory labels, traced strip by strip."""

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        return labels.ids[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    return _traced_by_strips(read_rows, _boxes_of(labels.ids), labels.grid)


def gap_raster_polygons(gaps: GapRasters) -> TracedRings:
    """The rings of every gap of on-disk labels, read and traced strip by strip."""
    import rasterio
    from rasterio.windows import Window

    if not len(gaps.boxes):
        return TracedRings.empty()
    with rasterio.open(gaps.ids_path) as ids_dataset:

        def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
            return ids_dataset.read(1, window=Window(col_off, row_off, n_cols, n_rows))

        return _traced_by_strips(read_rows, gaps.boxes, gaps.grid)


def write_gap_polygons(
    target: str | Path,
    labels: GapLabels | GapRasters,
    statistics: GapStatistics,
    threshold_m: float,
) -> Path:
    """Write one MultiPolygon per gap with ``gap_id, area_m2, perimeter_m, threshold_m`` and
    ``dsm_mean_m, dsm_min_m, dsm_max_m``, atomically, in the labels' CRS.

    Args:
        target: ``.gpkg`` path.
        labels: gap ids and their grid, in memory or on disk.
        statistics: per-gap DSM figures (index = gap id - 1).
        threshold_m: the threshold these gaps belong to.
    """
    from forestgaps_engine.geo.gpkg import FieldSpec, write_traced_gpkg

    traced = gap_polygons(labels) if isinstance(labels, GapLabels) else gap_raster_polygons(labels)
    # Areas were counted by strips (a whole-raster bincount copies the ids to int64).
    index = traced.labels - 1
    columns = {
        "gap_id": traced.labels,
        "area_m2": statistics.area_m2[index],
        "perimeter_m": traced.perimeters(),
        "threshold_m": np.full(traced.labels.size, float(threshold_m)),
        "dsm_mean_m": statistics.dsm_mean_m[index],
        "dsm_min_m": statistics.dsm_min_m[index],
        "dsm_max_m": statistics.dsm_max_m[index],
    }
    fields = [FieldSpec(name, sql_type) for name, sql_type in FIELDS]
    return write_traced_gpkg(target, LAYER_NAME, traced, columns, fields, labels.grid.crs)

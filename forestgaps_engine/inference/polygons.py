"""Gap polygons of one threshold as a GeoPackage layer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.trace import TracedRings, label_boxes
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


def _pieces_by_strips(
    read_rows: Callable[[int, int, int, int], np.ndarray],
    boxes: np.ndarray,
    grid: Grid,
    n_threads: int,
) -> Iterator[TracedRings]:
    """``geo.trace.traced_pieces`` on the strips post-processing reads, in CRS units."""
    from forestgaps_engine.geo.trace import traced_pieces
    from forestgaps_engine.inference.postprocess import strip_rows_for

    strip_rows = strip_rows_for(grid.width_px)
    for piece in traced_pieces(read_rows, boxes, grid.height_px, strip_rows, n_threads):
        yield piece.transformed(grid.transform, in_place=True)  # each piece is new


@contextmanager
def gap_polygon_pieces(
    labels: GapLabels | GapRasters, n_threads: int = 0
) -> Iterator[Iterator[TracedRings]]:
    """The rings of every gap, one strip (or box) at a time, in CRS coordinates.

    Every gap is in exactly one piece; a caller that writes each piece out holds a few
    strips' rings at a time. ``n_threads`` strips are traced at once (0: one per core).
    """
    if isinstance(labels, GapLabels):

        def read_memory(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
            return labels.ids[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

        yield _pieces_by_strips(read_memory, label_boxes(labels.ids), labels.grid, n_threads)
        return
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(labels.ids_path) as ids_dataset:

        def read_disk(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
            return ids_dataset.read(1, window=Window(col_off, row_off, n_cols, n_rows))

        yield _pieces_by_strips(read_disk, labels.boxes, labels.grid, n_threads)


def gap_polygons(labels: GapLabels | GapRasters, n_threads: int = 0) -> TracedRings:
    """The rings of every gap in one table (labels in memory or on disk)."""
    with gap_polygon_pieces(labels, n_threads) as pieces:
        return TracedRings.concatenate(list(pieces))


def write_gap_polygons(
    target: str | Path,
    labels: GapLabels | GapRasters,
    statistics: GapStatistics,
    threshold_m: float,
    n_threads: int = 0,
) -> Path:
    """Write one MultiPolygon per gap with ``gap_id, area_m2, perimeter_m, threshold_m`` and
    ``dsm_mean_m, dsm_min_m, dsm_max_m``, atomically, in the labels' CRS.

    The rings are traced and written one strip at a time, so memory holds one strip's
    rings, not every gap's (at 16384² with 286 000 gaps they took gigabytes).

    Args:
        target: ``.gpkg`` path.
        labels: gap ids and their grid, in memory or on disk.
        statistics: per-gap DSM figures (index = gap id - 1).
        threshold_m: the threshold these gaps belong to.
        n_threads: tracing threads, 0 = one per core.
    """
    from forestgaps_engine.geo.gpkg import FieldSpec, TracedLayerWriter

    fields = [FieldSpec(name, sql_type) for name, sql_type in FIELDS]
    with TracedLayerWriter(target, LAYER_NAME, fields, labels.grid.crs) as writer:
        with gap_polygon_pieces(labels, n_threads) as pieces:
            for piece in pieces:
                # Areas were counted by strips (a whole-raster bincount copies the ids).
                index = piece.labels - 1
                writer.add(
                    piece,
                    {
                        "gap_id": piece.labels,
                        "area_m2": statistics.area_m2[index],
                        "perimeter_m": piece.perimeters(),
                        "threshold_m": np.full(piece.labels.size, float(threshold_m)),
                        "dsm_mean_m": statistics.dsm_mean_m[index],
                        "dsm_min_m": statistics.dsm_min_m[index],
                        "dsm_max_m": statistics.dsm_max_m[index],
                    },
                )
    return Path(target)

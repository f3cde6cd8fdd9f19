"""Gap polygons of one threshold as a GeoPackage layer (GDAL polygonizes the gap ids)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from forestgaps_engine.geo.strip_parts import MergedParts
from forestgaps_engine.inference.postprocess import GapRasters, GapStatistics

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
# GDAL 3.6's polygonizer holds every boundary edge of a gap until it reaches the gap's
# last row: measured 136 bytes per cell side (+275 MB for a gap with 2.0 M sides over
# 56 % of a 4096² raster, +4.7 GB at 16384², benchmarks/vectorize.py). Errs high: too
# low, the system kills the process (QGIS with it).
POLYGONIZE_BYTES_PER_EDGE = 150


def check_polygon_memory(gaps: GapRasters) -> None:
    """Refuse, with the fix, gaps whose polygon would need more memory than is available.

    Raises:
        InferenceError: the largest gap's estimate exceeds the memory available now.
    """
    from forestgaps_engine.errors import InferenceError
    from forestgaps_engine.machine import available_memory_bytes

    if gaps.boundary_edges is None or not gaps.boundary_edges.size:
        return
    available = available_memory_bytes()
    if available <= 0:
        return  # unknown on this system: polygonize and see
    largest = int(np.argmax(gaps.boundary_edges))
    n_edges = int(gaps.boundary_edges[largest])
    needed = n_edges * POLYGONIZE_BYTES_PER_EDGE
    if needed > available:
        raise InferenceError(
            f"gap {largest + 1} covers {gaps.area_m2[largest]:.0f} m² with "
            f"{n_edges / 1e6:.1f} M boundary cell sides; polygonizing it needs about "
            f"{needed / 1e9:.1f} GB of memory and {available / 1e9:.1f} GB are available",
            hint="Bound the gap size (--max-area, or Maximum gap area in QGIS; e.g. 10000 m², "
            "ForestGapR's 1 ha), use a lower threshold, or run on a machine with more memory.",
        )


def write_gap_polygons(
    target: str | Path,
    labels: GapRasters,
    statistics: GapStatistics,
    threshold_m: float,
    parts: MergedParts | None = None,
    stop: threading.Event | None = None,
) -> Path:
    """Write one MultiPolygon per gap with its attributes, atomically, with an R-tree.

    Attributes are ``gap_id, area_m2, perimeter_m, threshold_m`` and ``dsm_mean_m,
    dsm_min_m, dsm_max_m``; the layer is in the labels' CRS.

    GDAL polygonizes the ids raster on disk (``GapRasters``) as it reads it; memory holds
    the polygons GDAL has open and one gap's parts, not every gap's rings. With ``parts``
    the strips were polygonized during the stream: only the gaps split by a strip edge
    are merged here (``geo.strip_parts``), and the ids raster is not read.

    Raises:
        InferenceError: the largest gap would need more memory than is available.

    Args:
        target: ``.gpkg`` path.
        labels: gap ids 1..n on disk and their grid.
        statistics: per-gap DSM figures (index = gap id - 1).
        threshold_m: the threshold these gaps belong to.
        parts: the strips' polygons of these gaps, merged (``StripLabelling.parts``
            through ``geo.strip_parts.finish_parts``), or None.
        stop: set from another thread, GDAL stops polygonizing (``CancelledError``).
    """
    from forestgaps_engine.geo.vectorize import LabelLayerWriter, write_label_polygons

    check_polygon_memory(labels)
    n_gaps = int(statistics.area_m2.size)
    columns = {
        "gap_id": np.arange(1, n_gaps + 1),
        "area_m2": statistics.area_m2,
        "threshold_m": np.full(n_gaps, float(threshold_m)),
        "dsm_mean_m": statistics.dsm_mean_m,
        "dsm_min_m": statistics.dsm_min_m,
        "dsm_max_m": statistics.dsm_max_m,
    }
    if parts is not None:
        with LabelLayerWriter(target, LAYER_NAME, FIELDS, labels.grid.crs) as writer:
            if n_gaps:
                writer.add_parts(parts.path, parts.view, columns["gap_id"], columns)
        return Path(target)
    return write_label_polygons(
        target, LAYER_NAME, labels.ids_path, FIELDS, columns, labels.grid.crs, labels.grid, stop
    )

"""Polygons of a label raster: one (Multi)Polygon feature per label id, in CRS coordinates.

Gaps are 8-connected, so one gap may be several 4-connected parts touching only at
corners. Tracing with 4-connectivity and grouping the parts by id gives a valid
MultiPolygon per gap (parts meet at single points), which an 8-connected trace would
instead turn into one self-touching, invalid ring. The tracing itself is
``geo/trace.py`` (array operations; the same rings GDAL's polygonize gives).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.trace import (
    TracedRings,
    label_boxes,
    strip_rows_for,
    trace_in_strips,
)

# A ring is an (N, 2) float64 array of x, y with the first point repeated last; a polygon
# is its exterior ring followed by its holes; a multipolygon is a list of polygons.
Ring = np.ndarray
Polygon = list[Ring]
MultiPolygon = list[Polygon]


@dataclass(frozen=True)
class VectorFeature:
    """One feature: a multipolygon and its attribute values.

    Attributes:
        polygons: the parts, each [exterior, *holes], rings (N, 2) in CRS units.
        attributes: column name -> value (int, float, str or None; NaN means missing).
    """

    polygons: MultiPolygon
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_x, min_y, max_x, max_y) of all rings."""
        points = np.concatenate([polygon[0] for polygon in self.polygons])
        min_x, min_y = points.min(axis=0)
        max_x, max_y = points.max(axis=0)
        return (float(min_x), float(min_y), float(max_x), float(max_y))


def ring_length(ring: Ring) -> float:
    """Length of a closed ring in CRS units."""
    return float(np.hypot(*np.diff(ring, axis=0).T).sum())


def ring_signed_area(ring: Ring) -> float:
    """Shoelace area of a closed ring (positive when counter-clockwise in x/y)."""
    x, y = ring[:, 0], ring[:, 1]
    return float(0.5 * (np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def multipolygon_perimeter(polygons: MultiPolygon) -> float:
    """Total boundary length (exteriors and holes) in CRS units."""
    return sum(ring_length(ring) for polygon in polygons for ring in polygon)


def multipolygon_area(polygons: MultiPolygon) -> float:
    """Area (exteriors minus holes) in squared CRS units."""
    return sum(
        abs(ring_signed_area(polygon[0])) - sum(abs(ring_signed_area(h)) for h in polygon[1:])
        for polygon in polygons
    )


def label_rings(labels: np.ndarray, grid: Grid) -> TracedRings:
    """Every label id > 0 traced into rings in CRS coordinates, in flat arrays.

    Args:
        labels: (H, W) integer ids, 0 = background.
        grid: where the cells lie (its transform gives CRS coordinates).
    """
    if labels.shape != grid.shape:
        raise ValueError(f"labels shape {labels.shape} does not match grid shape {grid.shape}")
    positive = np.where(labels > 0, labels, 0).astype(np.int64, copy=False)
    present = np.unique(positive[positive > 0])
    if present.size == 0:
        return TracedRings.empty()
    # Strips need the ids 1..n: renumber when they are not, trace, give the ids back.
    if present[-1] == present.size:
        dense = positive.astype(np.int32, copy=False)
    else:
        dense = (np.searchsorted(present, positive) + 1).astype(np.int32)
        dense[positive == 0] = 0
    boxes = label_boxes(dense)

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        return dense[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    traced = trace_in_strips(read_rows, boxes, labels.shape[0], strip_rows_for(labels.shape[1]))
    traced = dataclasses.replace(traced, labels=present[traced.labels - 1])
    return traced.transformed(grid.transform)


def label_polygons(labels: np.ndarray, grid: Grid) -> dict[int, MultiPolygon]:
    """Trace every label id > 0 into one multipolygon.

    Args:
        labels: (H, W) integer ids, 0 = background.
        grid: where the cells lie (its transform gives CRS coordinates).

    Returns:
        id -> multipolygon, ids in increasing order.
    """
    return label_rings(labels, grid).multipolygons()


def gap_features(
    labels: np.ndarray,
    grid: Grid,
    columns: Mapping[str, np.ndarray] | None = None,
) -> list[VectorFeature]:
    """One feature per gap id 1..n with ``gap_id``, ``area_m2``, ``perimeter_m`` and ``columns``.

    Args:
        labels: (H, W) int gap ids 1..n, 0 = no gap.
        grid: the labels' grid (metric CRS assumed for the m/m2 units).
        columns: extra attributes, each an (n,) array indexed by gap id - 1.

    Returns:
        Features in gap id order. ``area_m2`` is cells x cell area (exact, equal to the
        polygon area); ``perimeter_m`` is the length of every ring of the gap.
    """
    traced = label_rings(labels, grid)
    perimeters_m = dict(zip(traced.labels.tolist(), traced.perimeters().tolist(), strict=True))
    polygons_by_id = traced.multipolygons()
    n_gaps = int(labels.max()) if labels.size else 0
    counts = np.bincount(np.asarray(labels).ravel().astype(np.int64), minlength=n_gaps + 1)
    extra = dict(columns or {})
    for name, values in extra.items():
        if len(values) != n_gaps:
            raise ValueError(f"column {name!r} has {len(values)} values for {n_gaps} gaps")
    features_out = []
    for gap_id, polygons in polygons_by_id.items():
        attributes: dict[str, Any] = {
            "gap_id": gap_id,
            "area_m2": float(counts[gap_id]) * grid.cell_area_m2,
            "perimeter_m": perimeters_m[gap_id],
        }
        for name, values in extra.items():
            value = values[gap_id - 1]
            attributes[name] = value.item() if isinstance(value, np.generic) else value
        features_out.append(VectorFeature(polygons=polygons, attributes=attributes))
    return features_out

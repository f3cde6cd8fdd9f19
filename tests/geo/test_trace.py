"""geo/trace.py gives the rings GDAL's polygonize gives, in flat arrays."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from affine import Affine
from rasterio import features
from scipy import ndimage

from forestgaps_engine.geo.gpkg import geopackage_geometries
from forestgaps_engine.geo.trace import TracedRings, trace_labels
from forestgaps_engine.geo.vectorize import multipolygon_perimeter

EIGHT = np.ones((3, 3), dtype=bool)


def _gdal(labels: np.ndarray) -> dict[int, list[list[np.ndarray]]]:
    traced: dict[int, list[list[np.ndarray]]] = {}
    source = labels.astype(np.int32)
    for geometry, value in features.shapes(source, mask=source > 0, connectivity=4):
        rings = [np.asarray(ring, dtype=np.float64) for ring in geometry["coordinates"]]
        traced.setdefault(int(value), []).append(rings)
    return dict(sorted(traced.items()))


def geopackage_geometry(polygons: list[list[np.ndarray]], srs_id: int) -> bytes:
    """The GeoPackageBinary of one MultiPolygon, written out field by field (the reference)."""
    points = np.concatenate([polygon[0] for polygon in polygons])
    (min_x, min_y), (max_x, max_y) = points.min(axis=0), points.max(axis=0)
    chunks = [struct.pack("<2sBBi4d", b"GP", 0, 3, srs_id, min_x, max_x, min_y, max_y)]
    chunks.append(struct.pack("<BII", 1, 6, len(polygons)))
    for polygon in polygons:
        chunks.append(struct.pack("<BII", 1, 3, len(polygon)))
        for ring in polygon:
            chunks.append(struct.pack("<I", len(ring)) + np.asarray(ring, "<f8").tobytes())
    return b"".join(chunks)


def _ring_key(ring: np.ndarray) -> tuple:
    """A ring up to its start vertex and direction."""
    points = [tuple(point) for point in ring[:-1].tolist()]
    keys = []
    for walk in (points, points[::-1]):
        start = walk.index(min(walk))
        keys.append(tuple(walk[start:] + walk[:start]))
    return min(keys)


def _shape(parts: list[list[np.ndarray]]) -> list:
    return sorted((_ring_key(p[0]), sorted(_ring_key(h) for h in p[1:])) for p in parts)


@pytest.mark.parametrize("seed", range(40))
def test_rings_equal_gdal_polygonize_on_random_gaps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 40, 2)
    # Dense noise makes holes, islands in holes and cells touching only at corners.
    is_gap = rng.random((height, width)) < rng.uniform(0.2, 0.8)
    labels, _ = ndimage.label(is_gap, structure=EIGHT)

    traced = trace_labels(labels)
    expected = _gdal(labels)

    got = traced.multipolygons()
    assert list(got) == list(expected)
    for label, parts in expected.items():
        assert _shape(got[label]) == _shape(parts)
        for part in got[label]:
            for ring in part:
                np.testing.assert_array_equal(ring[0], ring[-1])


def test_corner_touching_cells_of_one_gap_are_parts_and_loops_are_split_like_gdal() -> None:
    labels = np.array(
        [
            [1, 1, 1, 0],
            [1, 0, 1, 0],
            [1, 1, 0, 1],  # (1, 2) and (2, 3): one part loops back; (2, 3) another part
            [0, 0, 0, 0],
        ]
    )
    got = trace_labels(labels).multipolygons()
    expected = _gdal(labels)
    assert _shape(got[1]) == _shape(expected[1])
    assert len(got[1]) == 2  # two 4-connected parts


def test_perimeters_bounds_and_geopackage_bytes_match_the_per_feature_code() -> None:
    rng = np.random.default_rng(3)
    labels, _ = ndimage.label(rng.random((50, 70)) < 0.4, structure=EIGHT)
    traced = trace_labels(labels).transformed(Affine(0.5, 0, 650_000, 0, -0.5, 6_860_000))
    polygons = traced.multipolygons()

    np.testing.assert_allclose(
        traced.perimeters(), [multipolygon_perimeter(parts) for parts in polygons.values()]
    )
    for bounds, parts in zip(traced.bounds(), polygons.values(), strict=True):
        points = np.concatenate([ring for part in parts for ring in part])
        np.testing.assert_array_equal(bounds, [*points.min(axis=0), *points.max(axis=0)])
    encoded = geopackage_geometries(traced, 2154)
    assert encoded == [geopackage_geometry(parts, 2154) for parts in polygons.values()]


def test_pieces_traced_apart_concatenate_into_the_whole_trace() -> None:
    rng = np.random.default_rng(8)
    labels, _ = ndimage.label(rng.random((60, 40)) < 0.45, structure=EIGHT)
    top_only = np.setdiff1d(np.unique(labels[:30]), np.unique(labels[30:]))
    top = np.where(np.isin(labels, top_only[top_only > 0]), labels, 0)
    rest = np.where(top > 0, 0, labels)

    merged = TracedRings.concatenate([trace_labels(rest), TracedRings.empty(), trace_labels(top)])
    whole = trace_labels(labels)

    assert merged.labels.tolist() == whole.labels.tolist()
    np.testing.assert_array_equal(merged.xy, whole.xy)
    np.testing.assert_array_equal(merged.ring_offsets, whole.ring_offsets)
    np.testing.assert_array_equal(merged.part_offsets, whole.part_offsets)


def test_nothing_to_trace() -> None:
    empty = trace_labels(np.zeros((4, 5), dtype=np.int32))
    assert empty.labels.size == 0 and empty.multipolygons() == {}
    assert empty.perimeters().size == 0 and empty.bounds().shape == (0, 4)
    assert geopackage_geometries(empty, 2154) == []


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("strip_rows", [3, 8, 100])
def test_tracing_in_strips_and_shifted_strips_gives_the_whole_trace(
    strip_rows: int, n_threads: int
) -> None:
    from forestgaps_engine.geo import trace

    rng = np.random.default_rng(strip_rows)
    is_gap = rng.random((64, 48)) < 0.45
    is_gap[5:60, 20:24] = True  # taller than any strip: stitched across strips
    labels, _ = ndimage.label(is_gap, structure=EIGHT)
    boxes = np.array(
        [[b[0].start, b[0].stop, b[1].start, b[1].stop] for b in ndimage.find_objects(labels)]
    )
    # Ids <= 0 are never traced, however negative (-1 is the ids rasters' nodata).
    on_disk = labels.copy()
    background = labels == 0
    on_disk[background & (rng.random(labels.shape) < 0.3)] = -1
    on_disk[background & (rng.random(labels.shape) < 0.2)] = -9999

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        return on_disk[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    strips = trace.trace_in_strips(read_rows, boxes, 64, strip_rows, n_threads)
    strips = strips.multipolygons()
    whole = trace_labels(labels).multipolygons()
    assert list(strips) == list(whole)
    for label, parts in whole.items():
        assert _shape(strips[label]) == _shape(parts)


def test_label_polygons_keep_ids_that_are_not_one_to_n() -> None:
    from forestgaps_engine.geo.grid import Grid
    from forestgaps_engine.geo.vectorize import label_polygons

    labels = np.zeros((6, 7), dtype=np.int32)
    labels[1:3, 1:3] = 7
    labels[4, 5] = 3
    polygons = label_polygons(labels, Grid(None, Affine(1, 0, 0, 0, -1, 0), 6, 7))
    assert list(polygons) == [3, 7]
    assert _ring_key(polygons[3][0][0]) == _ring_key(
        np.array([[5, -4], [6, -4], [6, -5], [5, -5], [5, -4]], dtype=float)
    )


def test_layer_writer_takes_pieces_in_any_order_and_lists_features_by_label(tmp_path) -> None:
    ogr = pytest.importorskip("osgeo.ogr")

    from forestgaps_engine.geo.gpkg import FieldSpec, TracedLayerWriter

    rng = np.random.default_rng(4)
    labels, n_labels = ndimage.label(rng.random((40, 30)) < 0.4, structure=EIGHT)
    grid_transform = Affine(2.0, 0, 650_000, 0, -2.0, 6_860_000)
    top = np.where(labels % 2 == 0, labels, 0)
    pieces = [trace_labels(np.where(top > 0, 0, labels)), trace_labels(top)]
    fields = [FieldSpec("gap_id", "INTEGER"), FieldSpec("perimeter_m", "REAL")]
    target = tmp_path / "gaps.gpkg"

    with TracedLayerWriter(target, "gaps", fields, "EPSG:2154") as writer:
        for piece in pieces:
            piece = piece.transformed(grid_transform)
            writer.add(piece, {"gap_id": piece.labels, "perimeter_m": piece.perimeters()})

    dataset = ogr.Open(str(target))  # the layer lives only as long as its dataset
    layer = dataset.GetLayer(0)
    assert layer.GetFeatureCount() == n_labels
    ids = [feature.GetField("gap_id") for feature in layer]
    assert ids == list(range(1, n_labels + 1))
    whole = trace_labels(labels).transformed(grid_transform)
    min_x, max_x, min_y, max_y = layer.GetExtent()
    np.testing.assert_allclose(
        [min_x, min_y, max_x, max_y], [*whole.xy.min(axis=0), *whole.xy.max(axis=0)]
    )
    layer.ResetReading()
    first = layer.GetNextFeature()
    assert first.GetGeometryRef().GetArea() == pytest.approx(4.0 * (labels == 1).sum())


def test_layer_writer_leaves_nothing_when_a_piece_fails(tmp_path) -> None:
    from forestgaps_engine.geo.gpkg import FieldSpec, TracedLayerWriter

    target = tmp_path / "gaps.gpkg"
    traced = trace_labels(np.array([[1, 0], [0, 2]]))
    with pytest.raises(KeyError):
        with TracedLayerWriter(target, "gaps", [FieldSpec("gap_id", "INTEGER")], None) as writer:
            writer.add(traced, {"gap_id": traced.labels})
            writer.add(traced, {})  # no column for gap_id
    assert list(tmp_path.iterdir()) == []


def test_walk_rings_follows_every_ring_from_its_smallest_edge() -> None:
    from forestgaps_engine.geo.trace import walk_rings

    rng = np.random.default_rng(3)
    for n_edges, n_rings in ((500, 60), (7, 1), (64, 64)):
        # A random permutation made of n_rings cycles.
        edges = rng.permutation(n_edges)
        cuts = np.sort(rng.choice(np.arange(1, n_edges), n_rings - 1, replace=False))
        following = np.empty(n_edges, dtype=np.int64)
        for cycle in np.split(edges, cuts):
            following[cycle] = np.roll(cycle, -1)
        expected_order, expected_ring, seen = [], [], set()
        for start in range(n_edges):
            if start in seen:
                continue
            edge = start
            while True:
                seen.add(edge)
                expected_order.append(edge)
                expected_ring.append(start)
                edge = int(following[edge])
                if edge == start:
                    break
        order, ring = walk_rings(following)
        np.testing.assert_array_equal(order, expected_order)
        # Ring numbers: any, as long as they change exactly where the walk changes ring.
        expected_ring = np.asarray(expected_ring)
        np.testing.assert_array_equal(
            ring[1:] != ring[:-1], expected_ring[1:] != expected_ring[:-1]
        )


@pytest.mark.parametrize(
    "transform",
    [Affine(0.5, 0.0, 700000.25, 0.0, -0.5, 6600000.0), Affine(0.5, 0.1, 3.0, 0.2, -0.5, 7.0)],
)
def test_transforming_in_place_gives_the_copys_coordinates(transform: Affine) -> None:
    labels, _ = ndimage.label(np.random.default_rng(3).random((30, 20)) < 0.5, structure=EIGHT)
    traced = trace_labels(labels)
    copied = traced.transformed(transform)
    col, row = traced.xy[:, 0], traced.xy[:, 1]
    expected = np.column_stack(
        [transform.a * col + transform.b * row + transform.c,
         transform.d * col + transform.e * row + transform.f]
    )  # fmt: skip
    np.testing.assert_array_equal(copied.xy, expected)
    in_place = traced.transformed(transform, in_place=True)
    np.testing.assert_array_equal(in_place.xy, expected)
    # North up, the table's own array is reused; a rotated transform needs a copy.
    assert (in_place.xy is traced.xy) == (transform.b == 0)

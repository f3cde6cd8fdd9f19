"""geo/stitched_trace.py: one gap traced strip by strip gives the rings of the whole trace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from forestgaps_engine.geo.stitched_trace import _join_parts, trace_label_in_strips
from forestgaps_engine.geo.trace import trace_labels

EIGHT = np.ones((3, 3), dtype=bool)


def _ring_key(ring: np.ndarray) -> tuple:
    """A closed ring up to its start vertex (its direction is kept)."""
    points = [tuple(point) for point in ring[:-1].tolist()]
    start = points.index(min(points))
    return tuple(points[start:] + points[:start])


def _parts(traced) -> list:
    """Parts in order, each: its exterior, then its holes as a sorted list."""
    [parts] = traced.multipolygons().values()
    return [(_ring_key(part[0]), sorted(_ring_key(hole) for hole in part[1:])) for part in parts]


def _largest_gap(seed: int, max_side: int = 60) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, max_side, 2)
    # Dense noise: holes, islands in holes, parts touching only at corners, ring pinches.
    is_gap = rng.random((height, width)) < rng.uniform(0.3, 0.9)
    labels, n_labels = ndimage.label(is_gap, structure=EIGHT)
    if n_labels == 0:
        labels[0, 0], n_labels = 1, 1
    largest = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
    return labels, largest


@pytest.mark.parametrize("seed", range(60))
def test_a_gap_stitched_from_strips_has_the_rings_of_the_whole_trace(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forestgaps_engine.geo import stitched_trace, trace

    if seed % 2:  # vertices put together a few at a time, as tens of millions would be
        monkeypatch.setattr(stitched_trace, "_CHUNK", 1 + seed % 7)
        monkeypatch.setattr(trace, "_VERTEX_CHUNK", 1 + seed % 5)
    labels, label = _largest_gap(seed)
    # The raster around the gap holds other gaps and nodata ids (-1), which stay out.
    raster = np.full((labels.shape[0] + 5, labels.shape[1] + 4), -1, dtype=np.int32)
    raster[3 : 3 + labels.shape[0], 1 : 1 + labels.shape[1]] = labels
    rows, cols = ndimage.find_objects((raster == label).astype(np.int32))[0]
    box = (rows.start, rows.stop, cols.start, cols.stop)

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        assert row_off >= box[0] and row_off + n_rows <= box[1]  # never beyond its box
        return raster[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    expected = trace_labels(np.where(raster == label, label, 0))
    for strip_cells in (1, 5, 37, 10**6):  # 2-row strips up to the whole box at once
        stitched = trace_label_in_strips(read_rows, label, box, strip_cells=strip_cells)
        assert stitched.labels.tolist() == [label]
        # Same parts in the same order, same orientation (GDAL's), closed rings.
        assert _parts(stitched) == _parts(expected)
        np.testing.assert_allclose(stitched.perimeters(), expected.perimeters())
        np.testing.assert_array_equal(stitched.bounds(), expected.bounds())


def test_a_gap_spanning_many_strips_with_ring_pieces_leaving_and_coming_back() -> None:
    # A spiral: its one ring crosses every cut many times, in both directions.
    size = 41
    is_gap = np.zeros((size, size), dtype=bool)
    low, high = 0, size - 1
    while low <= high:
        is_gap[low, low : high + 1] = is_gap[low : high + 1, high] = True
        is_gap[high, low : high + 1] = True
        is_gap[low + 2 : high + 1, low] = True
        if low + 2 <= high:
            is_gap[low + 2, low : low + 3] = True
        low, high = low + 2, high - 2
    ids = is_gap.astype(np.int32)

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        return ids[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    stitched = trace_label_in_strips(read_rows, 1, (0, size, 0, size), strip_cells=2 * size)
    assert _parts(stitched) == _parts(trace_labels(ids))


@pytest.mark.parametrize("strip_rows", [2, 3, 7, 50])
def test_the_first_read_counts_every_side_between_the_gap_and_the_rest(strip_rows: int) -> None:
    is_gap = np.random.default_rng(strip_rows).random((23, 17)) < 0.5
    strips = [(row, min(strip_rows, 23 - row)) for row in range(0, 23, strip_rows)]
    parts = _join_parts(lambda row_off, n_rows: is_gap[row_off : row_off + n_rows], strips)
    padded = np.pad(is_gap, 1)
    expected = np.count_nonzero(padded[:, 1:] != padded[:, :-1]) + np.count_nonzero(
        padded[1:] != padded[:-1]
    )
    assert parts.n_edges == expected
    # The parts are the 4-connected components, numbered in row-major order.
    components, n_components = ndimage.label(is_gap)
    assert parts.part_of_node.max() == n_components


def test_a_gap_beyond_the_memory_available_is_refused_before_it_is_traced(monkeypatch) -> None:
    from forestgaps_engine.errors import InferenceError
    from forestgaps_engine.geo import stitched_trace

    ids = np.zeros((40, 40), dtype=np.int32)
    ids[2:38, 2:38] = 1
    ids[10:12, 10:12] = 0  # a hole
    edges = 4 * 36 + 4 * 2
    needed = edges * stitched_trace.STITCHED_TRACE_BYTES_PER_EDGE
    reads = []

    def read_rows(row_off: int, col_off: int, n_rows: int, n_cols: int) -> np.ndarray:
        reads.append(row_off)
        return ids[row_off : row_off + n_rows, col_off : col_off + n_cols].copy()

    box = (2, 38, 2, 38)
    monkeypatch.setattr("forestgaps_engine.machine.available_memory_bytes", lambda: needed - 1)
    with pytest.raises(InferenceError, match="gap 7 spans 36 x 36 cells with 0.0 M boundary"):
        trace_label_in_strips(read_rows, 1, box, "gap 7", strip_cells=36 * 4)
    assert len(reads) == 9  # one pass over the strips, then the refusal
    monkeypatch.setattr("forestgaps_engine.machine.available_memory_bytes", lambda: needed)
    assert _parts(trace_label_in_strips(read_rows, 1, box, "gap 7")) == _parts(trace_labels(ids))

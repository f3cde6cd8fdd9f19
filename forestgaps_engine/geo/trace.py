"""Pixel-boundary polygons of a label raster in array operations (4-connected parts).

``rasterio.features.shapes`` hands every vertex back as a Python tuple; on a 4096²
prediction with 18 000 gaps that was the largest part of post-processing. Here every
boundary edge of every labelled cell is built at once, linked to the next edge of the
same ring, and the rings are read off the resulting permutation by one depth-first walk.

Edges run along cell sides with the cell on their right (array coordinates: rows down,
columns right), so in map coordinates (y up) exteriors run counter-clockwise and holes
clockwise, as GDAL writes them. Where two cells of one label touch only at a corner, the
walk turns right and keeps them apart: parts are 4-connected, and ``geo.vectorize``
groups them into one MultiPolygon per label. Straight runs are merged into one segment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from forestgaps_engine.threads import ordered_map

# Directions: east, south, west, north as (row, col) steps; the right turn of d is d + 1.
_STEP_ROW = np.array([0, 1, 0, -1], dtype=np.int64)
_STEP_COL = np.array([1, 0, -1, 0], dtype=np.int64)
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def boundary_edge_table(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """(start row, start col, direction, label, cell row, cell col) of every boundary edge.

    Edges come side by side (top, right, bottom, left), each side's in row-major order of
    their cells.
    """
    height_px, width_px = labels.shape
    padded = np.zeros((height_px + 2, width_px + 2), dtype=labels.dtype)
    padded[1:-1, 1:-1] = labels
    inner = padded[1:-1, 1:-1]
    is_labelled = inner > 0
    # Cell (r, c): top side east from (r, c); right side south from (r, c+1); bottom side
    # west from (r+1, c+1); left side north from (r+1, c). One bit per boundary side, so
    # the strip is scanned for boundary cells once rather than once per side.
    neighbours = (padded[:-2, 1:-1], padded[1:-1, 2:], padded[2:, 1:-1], padded[1:-1, :-2])
    sides_of_cell = np.zeros(labels.shape, dtype=np.uint8)
    for side, neighbour in enumerate(neighbours):
        differs = neighbour != inner
        differs &= is_labelled
        sides_of_cell |= differs.view(np.uint8) << side
    cells = np.flatnonzero(sides_of_cell)
    cell_sides = sides_of_cell.ravel()[cells]
    parts = []
    for side, (row_shift, col_shift) in enumerate(((0, 0), (0, 1), (1, 1), (1, 0))):
        side_cells = cells[(cell_sides & (1 << side)) != 0]
        rows, cols = np.divmod(side_cells, width_px)
        parts.append(
            (rows + row_shift, cols + col_shift, np.full(rows.size, side, np.int64), rows, cols)
        )
    start_row, start_col, direction, cell_row, cell_col = (
        np.concatenate([part[i] for part in parts]) for i in range(5)
    )
    label = labels.ravel()[cell_row * width_px + cell_col].astype(np.int64)
    return start_row, start_col, direction, label, cell_row, cell_col


# The cell side leaving a corner in each direction: (row, col) of the cell relative to
# the corner, and the side (0 top, 1 right, 2 bottom, 3 left) that runs that way.
_LEAVING_CELL_ROW = np.array([0, 0, -1, -1], dtype=np.int64)
_LEAVING_CELL_COL = np.array([0, -1, -1, 0], dtype=np.int64)


def next_edges(
    cell_row: np.ndarray,
    cell_col: np.ndarray,
    direction: np.ndarray,
    label: np.ndarray,
    component: np.ndarray,
    shape: tuple[int, int],
) -> np.ndarray:
    """Index of the edge that follows each edge on its ring.

    One candidate at most among a right turn, straight on and a left turn, except where
    two cells of the label touch only at this corner: there the walk turns right when the
    cells belong to different 4-connected parts (keeping the parts apart) and left when
    they belong to the same part (a ring that would touch itself there is split in two
    rings that touch at the corner, as GDAL writes them).
    """
    # Edge index by (side, cell): a side is a boundary edge of its own cell only, so the
    # edge leaving a corner in a direction is the one keyed by that side and cell. The
    # edges come side by side, each side's in row-major order of their cells
    # (``boundary_edge_table``), so their keys are increasing and a binary search finds it:
    # a (4, H, W) table of edge indices cost more to fill than the search costs.
    height_px, width_px = shape
    n_cells = (height_px + 2) * (width_px + 2)
    row_stride = width_px + 2
    edge_keys = direction * n_cells + (cell_row + 1) * row_stride + (cell_col + 1)
    # The key of the edge leaving an edge's end corner after a turn is the edge's own key
    # plus a constant of its direction and the turn: one gather and one add per edge.
    end_row_step = np.array([0, 1, 1, 0])
    end_col_step = np.array([1, 1, 0, 0])
    sides = np.arange(4)

    def candidate(turn: int) -> np.ndarray:
        leaving = (sides + turn) % 4
        key_step = (
            (leaving - sides) * n_cells
            + (end_row_step + _LEAVING_CELL_ROW[leaving]) * row_stride
            + (end_col_step + _LEAVING_CELL_COL[leaving])
        )
        wanted = edge_keys + key_step[direction]
        found = np.searchsorted(edge_keys, wanted)
        np.minimum(found, edge_keys.size - 1, out=found)
        is_edge = edge_keys[found] == wanted
        is_edge &= label[found] == label
        return np.where(is_edge, found, -1)

    right, straight, left = candidate(1), candidate(0), candidate(3)
    is_pinch = (right >= 0) & (left >= 0)
    same_part = is_pinch & (component[np.maximum(left, 0)] == component)
    following = np.where(right >= 0, right, np.where(straight >= 0, straight, left))
    following = np.where(same_part, left, following)
    if (following < 0).any():
        raise RuntimeError("a boundary edge has no successor: the label raster is malformed")
    return following


def walk_rings(following: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every edge in ring order: ``(edge permutation, ring number of each position)``.

    Rings come in increasing order of their smallest edge index, each walked from that
    edge. The rings are the weak components of the successor graph; their walks are
    chained (the last edge of each ring leads to the first of the next) into one path,
    which a depth-first search reads off in linear time in compiled code: pointer
    jumping took log2(ring length) passes over every edge, a quarter of the tracing.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components, depth_first_order

    n_edges = following.size
    index = np.arange(n_edges, dtype=np.int64)
    successors = csr_matrix(
        (np.ones(n_edges, dtype=np.int8), following, np.arange(n_edges + 1)),
        shape=(n_edges, n_edges),
    )
    n_rings, ring = connected_components(successors, directed=True, connection="weak")
    # scipy numbers components from the lowest unvisited node up, so a ring's smallest
    # edge is where its number first exceeds every number before it; checked, not assumed.
    is_first = ring > np.maximum.accumulate(np.r_[-1, ring[:-1]])
    if np.count_nonzero(is_first) != n_rings:
        by_ring = np.argsort(ring, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(ring[by_ring]) != 0])
        is_first = np.zeros(n_edges, dtype=bool)
        is_first[by_ring[starts]] = True
    first = np.flatnonzero(is_first)
    previous = np.empty(n_edges, dtype=np.int64)
    previous[following] = index
    last = previous[first]
    chained = following.astype(np.int64, copy=True)
    chained[last[:-1]] = first[1:]
    has_next = np.ones(n_edges, dtype=bool)
    has_next[last[-1]] = False
    path = csr_matrix(
        (np.ones(n_edges - 1, dtype=np.int8), chained[has_next], np.r_[0, np.cumsum(has_next)]),
        shape=(n_edges, n_edges),
    )
    order = depth_first_order(path, int(first[0]), directed=True, return_predecessors=False)
    return order.astype(np.int64, copy=False), ring[order]


# Vertices per step of the chunked array operations on a table of rings.
_VERTEX_CHUNK = 2**20


@dataclass(frozen=True)
class TracedRings:
    """The rings of every traced label, in flat arrays (no Python object per vertex).

    Attributes:
        xy: (V, 2) float64 ring vertices, each ring closed (its first point repeated).
        ring_offsets: (R + 1,) int64: ring i is ``xy[ring_offsets[i]:ring_offsets[i + 1]]``.
        part_offsets: (P + 1,) int64 into the rings: a part (4-connected polygon) is its
            exterior ring followed by its holes.
        label_offsets: (L + 1,) int64 into the parts: the parts of label i.
        labels: (L,) int64 label ids, increasing.
    """

    xy: np.ndarray
    ring_offsets: np.ndarray
    part_offsets: np.ndarray
    label_offsets: np.ndarray
    labels: np.ndarray

    @staticmethod
    def from_multipolygons(polygons: dict[int, list[list[np.ndarray]]]) -> TracedRings:
        """The flat form of ``label -> parts -> closed rings`` (labels in increasing order)."""
        if not polygons:
            return TracedRings.empty()
        parts = [part for label in sorted(polygons) for part in polygons[label]]
        rings = [ring for part in parts for ring in part]
        return TracedRings(
            xy=np.concatenate(rings).astype(np.float64),
            ring_offsets=offsets_of(np.array([len(ring) for ring in rings])),
            part_offsets=offsets_of(np.array([len(part) for part in parts])),
            label_offsets=offsets_of(
                np.array([len(polygons[label]) for label in sorted(polygons)])
            ),
            labels=np.array(sorted(polygons), dtype=np.int64),
        )

    @staticmethod
    def empty() -> TracedRings:
        """No label at all."""
        zero = np.zeros(1, dtype=np.int64)
        return TracedRings(np.zeros((0, 2)), zero, zero, zero, np.zeros(0, dtype=np.int64))

    def transformed(self, transform: Any, in_place: bool = False) -> TracedRings:
        """Vertices through an affine ``transform`` (column, row -> x, y).

        No term for a zero coefficient and no (V, 2) temporary: a gap stitched across a
        large raster has tens of millions of vertices. ``in_place`` (for a table nobody
        else holds) writes a north-up transform into this table's own ``xy``.
        """
        col, row = self.xy[:, 0], self.xy[:, 1]
        if in_place and not transform.b and not transform.d and self.xy.dtype == np.float64:
            col *= transform.a
            col += transform.c
            row *= transform.e
            row += transform.f
            return self
        xy = np.empty_like(self.xy, dtype=np.float64)
        for out, (along_col, along_row, offset) in zip(
            (xy[:, 0], xy[:, 1]),
            ((transform.a, transform.b, transform.c), (transform.d, transform.e, transform.f)),
            strict=True,
        ):
            if not along_col:
                np.multiply(row, along_row, out=out)
            else:
                np.multiply(col, along_col, out=out)
                if along_row:
                    out += along_row * row
            out += offset
        return dataclasses.replace(self, xy=xy)

    def translated(self, col_off: float, row_off: float) -> TracedRings:
        """Corner coordinates shifted by a window's offset."""
        return dataclasses.replace(self, xy=self.xy + np.array([col_off, row_off]))

    def perimeters(self) -> np.ndarray:
        """(L,) total length of every label's rings (exteriors and holes)."""
        n_vertices = self.xy.shape[0]
        per_vertex = np.zeros(n_vertices, dtype=np.float64)  # the step to the next vertex
        # In chunks: a stitched gap's tens of millions of vertices need no (V, 2) temporaries.
        for start in range(0, max(n_vertices - 1, 0), _VERTEX_CHUNK):
            stop = min(start + _VERTEX_CHUNK, n_vertices - 1)
            steps = self.xy[start + 1 : stop + 1] - self.xy[start:stop]
            per_vertex[start:stop] = np.hypot(steps[:, 0], steps[:, 1])
        # The step from one ring's closing point to the next ring's first is not an edge.
        per_vertex[self.ring_offsets[1:] - 1] = 0.0
        if self.labels.size == 0:
            return np.zeros(0)
        return _sum_by_label(self, np.add.reduceat(per_vertex, self.ring_offsets[:-1]))

    def bounds(self) -> np.ndarray:
        """(L, 4) ``min_x, min_y, max_x, max_y`` of every label's vertices."""
        if self.labels.size == 0:
            return np.zeros((0, 4))
        starts = self.ring_offsets[self.part_offsets[self.label_offsets[:-1]]]
        low = np.minimum.reduceat(self.xy, starts, axis=0)
        high = np.maximum.reduceat(self.xy, starts, axis=0)
        return np.column_stack([low, high])

    def multipolygons(self) -> dict[int, list[list[np.ndarray]]]:
        """label id -> parts -> rings, as views of ``xy``."""
        rings = [
            self.xy[start:stop]
            for start, stop in zip(
                self.ring_offsets[:-1].tolist(), self.ring_offsets[1:].tolist(), strict=True
            )
        ]
        parts = [
            rings[start:stop]
            for start, stop in zip(
                self.part_offsets[:-1].tolist(), self.part_offsets[1:].tolist(), strict=True
            )
        ]
        return {
            label: parts[start:stop]
            for label, start, stop in zip(
                self.labels.tolist(),
                self.label_offsets[:-1].tolist(),
                self.label_offsets[1:].tolist(),
                strict=True,
            )
        }

    @staticmethod
    def concatenate(pieces: Sequence[TracedRings]) -> TracedRings:
        """One table from several, labels sorted (a label must not repeat across pieces)."""
        pieces = [piece for piece in pieces if piece.labels.size]
        if not pieces:
            return TracedRings.empty()
        if len(pieces) == 1:
            return pieces[0]
        vertex_base = offsets_of(np.array([piece.xy.shape[0] for piece in pieces]))
        ring_base = offsets_of(np.array([piece.ring_offsets.size - 1 for piece in pieces]))
        part_base = offsets_of(np.array([piece.part_offsets.size - 1 for piece in pieces]))
        stacked = TracedRings(
            xy=np.concatenate([piece.xy for piece in pieces]),
            ring_offsets=np.r_[
                np.concatenate(
                    [p.ring_offsets[:-1] + b for p, b in zip(pieces, vertex_base[:-1], strict=True)]
                ),
                vertex_base[-1],
            ],
            part_offsets=np.r_[
                np.concatenate(
                    [p.part_offsets[:-1] + b for p, b in zip(pieces, ring_base[:-1], strict=True)]
                ),
                ring_base[-1],
            ],
            label_offsets=np.r_[
                np.concatenate(
                    [p.label_offsets[:-1] + b for p, b in zip(pieces, part_base[:-1], strict=True)]
                ),
                part_base[-1],
            ],
            labels=np.concatenate([piece.labels for piece in pieces]),
        )
        return stacked.sorted_by_label()

    def sorted_by_label(self) -> TracedRings:
        """The same rings with the labels in increasing order (parts and rings follow)."""
        order = np.argsort(self.labels, kind="stable")
        parts = concatenated_ranges(self.label_offsets[:-1][order], self.label_offsets[1:][order])
        rings = concatenated_ranges(self.part_offsets[:-1][parts], self.part_offsets[1:][parts])
        vertices = concatenated_ranges(self.ring_offsets[:-1][rings], self.ring_offsets[1:][rings])
        return TracedRings(
            xy=self.xy[vertices],
            ring_offsets=offsets_of(np.diff(self.ring_offsets)[rings]),
            part_offsets=offsets_of(np.diff(self.part_offsets)[parts]),
            label_offsets=offsets_of(np.diff(self.label_offsets)[order]),
            labels=self.labels[order],
        )


def concatenated_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, stop)`` of every pair, in one array operation."""
    sizes = stops - starts
    first = offsets_of(sizes)[:-1]
    return np.repeat(starts - first, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)


def offsets_of(sizes: np.ndarray) -> np.ndarray:
    """Start offsets of consecutive groups of ``sizes`` items, and the total at the end."""
    return np.r_[0, np.cumsum(sizes)].astype(np.int64)


def _sum_by_label(traced: TracedRings, per_ring: np.ndarray) -> np.ndarray:
    part_of_ring = np.repeat(np.arange(traced.part_offsets.size - 1), np.diff(traced.part_offsets))
    label_of_part = np.repeat(np.arange(traced.labels.size), np.diff(traced.label_offsets))
    return np.bincount(label_of_part[part_of_ring], weights=per_ring, minlength=traced.labels.size)


def trace_labels(labels: np.ndarray) -> TracedRings:
    """Rings of every label id > 0, in (column, row) corner coordinates.

    Args:
        labels: (H, W) integer ids, 0 = background.

    Returns:
        The rings: labels in increasing order, a label's parts in the row-major order of
        their first cell, each part's exterior first.
    """
    labels = np.ascontiguousarray(labels)
    if labels.size == 0 or not (labels > 0).any():
        return TracedRings.empty()
    start_row, start_col, direction, label, cell_row, cell_col = boundary_edge_table(labels)
    # Each edge's part: the 4-connected component of its cell (gaps of different ids
    # never touch, so components of ``labels > 0`` are the parts of single ids).
    components, _ = ndimage.label(labels > 0, structure=_FOUR_CONNECTED)
    component = components[cell_row, cell_col]
    following = next_edges(cell_row, cell_col, direction, label, component, labels.shape)
    order, ring = walk_rings(following)
    direction = direction[order]
    start_row, start_col = start_row[order], start_col[order]
    # A vertex is kept where the direction changes (corners); straight runs merge.
    ring_first = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    ring_last = np.r_[ring_first[1:] - 1, ring.size - 1]
    previous_direction = np.r_[direction[-1], direction[:-1]]
    previous_direction[ring_first] = direction[ring_last]
    is_corner = direction != previous_direction
    corner_ring = ring[is_corner]
    corner_xy = np.column_stack([start_col[is_corner], start_row[is_corner]])
    # Corner runs per ring, rings in increasing id (the same order as ``ring_first``).
    first_corner = np.flatnonzero(np.r_[True, corner_ring[1:] != corner_ring[:-1]])
    n_corners = np.diff(np.r_[first_corner, corner_ring.size])
    edge_of_ring = order[ring_first]  # an edge of each ring, in the original edge order
    return lay_out_rings(corner_xy, n_corners, component[edge_of_ring], label[edge_of_ring])


def _signed_areas2(corners: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Twice each ring's shoelace area in (col, row) corners: > 0 with the cells on the
    walk's right (an exterior), < 0 for a hole. Exact: integer arithmetic, in chunks."""
    n_vertices = corners.shape[0]
    terms = np.empty(n_vertices, dtype=np.int64)
    for start in range(0, max(n_vertices - 1, 0), _VERTEX_CHUNK):
        stop = min(start + _VERTEX_CHUNK, n_vertices - 1)
        here = corners[start:stop].astype(np.int64)
        after = corners[start + 1 : stop + 1].astype(np.int64)
        terms[start:stop] = here[:, 0] * after[:, 1] - after[:, 0] * here[:, 1]
    # Each ring's last vertex closes on its own first.
    last, first = offsets[1:] - 1, offsets[:-1]
    closing_x, closing_y = corners[last].astype(np.int64).T
    first_x, first_y = corners[first].astype(np.int64).T
    terms[last] = closing_x * first_y - first_x * closing_y
    return np.add.reduceat(terms, first)


def lay_out_rings(
    corners: np.ndarray,
    n_corners: np.ndarray,
    ring_part: np.ndarray,
    ring_label: np.ndarray,
    shift: tuple[float, float] = (0.0, 0.0),
) -> TracedRings:
    """Walked rings as a table: grouped by label, then part, exterior first; each closed;
    exteriors walked backwards (GDAL's orientation: exteriors and holes then turn the same
    way in array order); corners shifted by ``shift`` (col, row).

    Args:
        corners: (V, 2) integer (col, row) corners of every ring in walk order (cells on
            the right), one ring after another, not closed.
        n_corners: (R,) corners per ring.
        ring_part, ring_label: (R,) each ring's part (parts numbered in the order they
            are to come) and label.

    Rings are laid out in groups of about ``_VERTEX_CHUNK`` vertices, so a gap stitched
    across a large raster needs no index array of all its vertices.
    """
    offsets = offsets_of(n_corners)
    is_hole = _signed_areas2(corners, offsets) < 0
    ring_order = np.lexsort((np.arange(n_corners.size), is_hole, ring_part, ring_label))
    out_offsets = offsets_of(n_corners[ring_order] + 1)
    out = np.empty((int(out_offsets[-1]), 2), dtype=np.float64)
    shift_xy = np.array(shift, dtype=np.float64)
    group_start = 0
    while group_start < ring_order.size:
        # A larger ring than the chunk is a group alone.
        limit = out_offsets[group_start] + _VERTEX_CHUNK
        group_stop = max(group_start + 1, int(np.searchsorted(out_offsets, limit, "right")) - 1)
        group_stop = min(group_stop, ring_order.size)
        rings = ring_order[group_start:group_stop]
        sizes = n_corners[rings]
        sources = concatenated_ranges(offsets[:-1][rings], offsets[1:][rings])
        lengths = np.repeat(sizes, sizes)
        step = np.arange(sources.size) - np.repeat(offsets_of(sizes)[:-1], sizes)
        exterior = ~np.repeat(is_hole[rings], sizes)
        sources[exterior] += lengths[exterior] - 1 - 2 * step[exterior]
        del lengths, step, exterior
        block_start = out_offsets[group_start]
        block = out[block_start : out_offsets[group_stop]]
        is_closing = np.zeros(block.shape[0], dtype=bool)
        is_closing[out_offsets[group_start + 1 : group_stop + 1] - block_start - 1] = True
        block[~is_closing] = corners[sources]
        block[is_closing] = block[out_offsets[group_start:group_stop] - block_start]
        if shift_xy.any():
            block += shift_xy
        group_start = group_stop
    return rings_table(out, out_offsets, ring_part[ring_order], ring_label[ring_order])


def rings_table(
    xy: np.ndarray, ring_offsets: np.ndarray, ring_part: np.ndarray, ring_label: np.ndarray
) -> TracedRings:
    """The table of closed rings already grouped by label, then part, exterior first.

    Args:
        xy: (V, 2) the rings' vertices, one ring after another.
        ring_offsets: (R + 1,) ring i is ``xy[ring_offsets[i]:ring_offsets[i + 1]]``.
        ring_part, ring_label: (R,) each ring's part (any id, unique across labels) and
            label.
    """
    part_first = np.flatnonzero(np.r_[True, ring_part[1:] != ring_part[:-1]])
    part_label = ring_label[part_first]
    label_first = np.flatnonzero(np.r_[True, part_label[1:] != part_label[:-1]])
    return TracedRings(
        xy=xy,
        ring_offsets=ring_offsets,
        part_offsets=np.r_[part_first, ring_part.size].astype(np.int64),
        label_offsets=np.r_[label_first, part_label.size].astype(np.int64),
        labels=part_label[label_first].astype(np.int64),
    )


# Strips of at most this many cells (``trace_in_strips``).
STRIP_CELLS = 2**21


def strip_rows_for(width_px: int) -> int:
    """Rows per strip of ``trace_in_strips`` for a raster ``width_px`` wide."""
    return max(1, STRIP_CELLS // max(width_px, 1))


def label_boxes(ids: np.ndarray) -> np.ndarray:
    """(n, 4) ``row_start, row_stop, col_start, col_stop`` of ids 1..n (every id present)."""
    return np.array(
        [
            [rows.start, rows.stop, cols.start, cols.stop]
            for rows, cols in ndimage.find_objects(ids)
        ],
        dtype=np.int64,
    ).reshape(-1, 4)


def trace_in_strips(
    read_rows: Callable[[int, int, int, int], np.ndarray],
    boxes: np.ndarray,
    height_px: int,
    strip_rows: int,
    n_threads: int = 0,
) -> TracedRings:
    """``traced_pieces`` in one table (labels in increasing order)."""
    pieces = traced_pieces(read_rows, boxes, height_px, strip_rows, n_threads)
    return TracedRings.concatenate(list(pieces))


@dataclass(frozen=True)
class _TraceJob:
    """A strip of ids read by the caller's thread, and the labels to trace in it."""

    ids: np.ndarray
    traced_ids: np.ndarray
    row_off: int


def _trace_job(job: _TraceJob | TracedRings) -> TracedRings:
    """A strip traced, or the rings of a label already traced in its box, passed on."""
    if isinstance(job, TracedRings):
        return job
    ids = job.ids
    # Other labels' cells (and nodata, any id <= 0) are zeroed: traced elsewhere or never.
    # A table by id, not np.isin, which sorts the strip's cells.
    if ids.min(initial=0) < -1:
        np.maximum(ids, 0, out=ids)
    # One entry past the largest id: -1 (nodata) reads that last entry, which is False.
    is_traced = np.zeros(int(max(ids.max(initial=0), job.traced_ids.max(initial=0))) + 2, bool)
    is_traced[job.traced_ids] = True
    ids[~is_traced[ids]] = 0
    return trace_labels(ids).translated(0, job.row_off)


def traced_pieces(
    read_rows: Callable[[int, int, int, int], np.ndarray],
    boxes: np.ndarray,
    height_px: int,
    strip_rows: int,
    n_threads: int = 0,
) -> Iterator[TracedRings]:
    """Rings of labels 1..n, read and traced strip by strip, in (column, row) corners.

    Yields one table per strip (or box); every label appears in exactly one, so a caller
    that writes each piece out holds a few strips' rings at a time.

    Args:
        read_rows: ``(row_off, col_off, n_rows, n_cols) -> ids`` (a copy: it is edited);
            ids <= 0 are not traced. Called from the caller's thread only.
        boxes: (n, 4) ``row_start, row_stop, col_start, col_stop`` of label i + 1.
        height_px: rows of the raster.
        strip_rows: rows per strip.
        n_threads: strips traced at once, 0 = one per core (``threads.ordered_map``);
            the pieces are the same, in the same order, whatever the count.

    The labels lying wholly inside a strip are traced together, in one call per strip;
    then those crossing a strip boundary, on strips shifted by half a strip; the few left
    (taller than half a strip) one at a time, read strip by strip within their bounding
    boxes and stitched (``geo.stitched_trace``). Memory stays O(strip) per thread, plus
    the rings of the largest such label (about 40 bytes per boundary edge).
    """
    jobs = _trace_jobs(read_rows, boxes, height_px, strip_rows)
    yield from ordered_map(_trace_job, jobs, n_threads)


def _trace_jobs(
    read_rows: Callable[[int, int, int, int], np.ndarray],
    boxes: np.ndarray,
    height_px: int,
    strip_rows: int,
) -> Iterator[_TraceJob | TracedRings]:
    if not len(boxes):
        return
    width_px = int(boxes[:, 3].max())
    left = np.ones(len(boxes), dtype=bool)
    for shift in (0, strip_rows // 2):
        if shift and not left.any():
            break
        first = (boxes[:, 0] - shift) // strip_rows
        last = (boxes[:, 1] - 1 - shift) // strip_rows
        inside = left & (first == last) & (boxes[:, 0] >= shift)
        for strip in np.unique(first[inside]).tolist():
            row_off = shift + strip * strip_rows
            n_rows = min(strip_rows, height_px - row_off)
            traced_ids = np.flatnonzero(inside & (first == strip)) + 1
            yield _TraceJob(read_rows(row_off, 0, n_rows, width_px), traced_ids, row_off)
        left &= ~inside
    from forestgaps_engine.geo.stitched_trace import trace_label_in_strips

    for index in np.flatnonzero(left).tolist():
        # Traced here, in the caller's thread, which alone may read.
        yield trace_label_in_strips(read_rows, index + 1, boxes[index], f"gap {index + 1}")

"""One gap too large to trace at once: traced strip by strip, its ring pieces stitched.

A gap spanning most of a large raster (a DSM read mostly as gap at a high threshold, with
no area bound) used to be traced in its whole bounding box, by GDAL's polygonizer, which
hands every vertex back as a Python tuple: 186-270 bytes of memory per boundary edge, past
12 GB for one gap of a 16384² map. Here the box is read one strip at a time, twice:

1. Each strip's 4-connected parts of the gap are labelled, and parts touching across a
   cut are joined (a union over the cut rows), so every cell's part is known without a
   label raster of the whole box.
2. Each strip's boundary edges are built and linked as ``geo.trace`` does, with one row of
   each neighbouring strip so that links crossing a cut are found; the links inside the
   strip give closed rings and open pieces, which leave the strip at a cut. Only the
   corners of the pieces are kept (int32), with the keys of the edges where they enter
   and leave.

The pieces are then joined end to end into rings. Memory holds one strip's temporaries
and the corners of the gap's rings: bytes per corner, not per cell of the box.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from forestgaps_engine.geo.trace import (
    TracedRings,
    boundary_edge_table,
    concatenated_ranges,
    lay_out_rings,
    next_edges,
    offsets_of,
    walk_rings,
)

_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)
# The rows of the box read per strip: a strip's edge arrays take ~100 bytes per cell.
STITCH_STRIP_CELLS = 2**21


# Peak memory of this trace per boundary edge of the gap: measured 27 bytes
# (tracemalloc) on a ragged gap over 59 % of a 4096² box with 4.6 M edges and 78 000
# holes. The estimate errs high: too low, the system kills the process (QGIS with it).
STITCHED_TRACE_BYTES_PER_EDGE = 40


def check_trace_memory(n_edges: int, shape: tuple[int, int], what: str) -> None:
    """Refuse, with the fix, a trace that would need more memory than is available.

    Such a trace would be killed by the system (taking QGIS with it).

    Raises:
        InferenceError: the estimate exceeds the memory available now.
    """
    from forestgaps_engine.errors import InferenceError
    from forestgaps_engine.machine import available_memory_bytes

    available = available_memory_bytes()
    if available <= 0:
        return  # unknown on this system: trace and see
    needed = n_edges * STITCHED_TRACE_BYTES_PER_EDGE
    if needed > available:
        raise InferenceError(
            f"{what} spans {shape[0]} x {shape[1]} cells with "
            f"{n_edges / 1e6:.1f} M boundary edges; tracing it as one polygon needs about "
            f"{needed / 1e9:.1f} GB of memory and {available / 1e9:.1f} GB are available",
            hint="Bound the gap size (--max-area, or Maximum gap area in QGIS; e.g. 10000 m², "
            "ForestGapR's 1 ha), use a lower threshold, or run on a machine with more memory.",
        )


@dataclass(frozen=True)
class _Parts:
    """The gap's 4-connected parts across strips, without a label raster of the box.

    Attributes:
        part_of_node: part id (1..P, in row-major order of each part's first cell; 0 for
            node 0, the background) of every strip-local component.
        node_offsets: node id of strip s's local component k is ``node_offsets[s] + k``.
        first_row_nodes, last_row_nodes: node ids of each strip's first and last row
            (0 where the cell is not gap): the neighbouring strips' halo rows.
        n_edges: cell sides between the gap and the rest, the box's border included.
    """

    part_of_node: np.ndarray
    node_offsets: list[int]
    first_row_nodes: list[np.ndarray]
    last_row_nodes: list[np.ndarray]
    n_edges: int


def _join_parts(
    read_mask: Callable[[int, int], np.ndarray], strips: list[tuple[int, int]]
) -> _Parts:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    node_offsets, first_rows, last_rows = [], [], []
    pairs = []
    n_nodes = 1  # node 0: the background
    n_edges = 0
    row_above = None
    for row_off, n_rows in strips:
        mask = read_mask(row_off, n_rows)
        n_edges += _edges_within(mask, row_above)
        row_above = mask[-1].copy()
        local, n_local = ndimage.label(mask, structure=_FOUR_CONNECTED)
        del mask
        nodes = np.where(local > 0, local + (n_nodes - 1), 0).astype(np.int64)
        node_offsets.append(n_nodes - 1)
        if last_rows:
            above, below = last_rows[-1], nodes[0]
            joined = (above > 0) & (below > 0)
            pairs.append(np.column_stack([above[joined], below[joined]]))
        first_rows.append(nodes[0].copy())
        last_rows.append(nodes[-1].copy())
        n_nodes += n_local
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    graph = coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n_nodes, n_nodes)
    )
    _, component = connected_components(graph, directed=False)
    # Parts numbered by their smallest node: local labels follow each strip's row-major
    # order and strips come top down, so that is the row-major order of first cells.
    smallest_node = np.full(component.max() + 1, n_nodes, dtype=np.int64)
    np.minimum.at(smallest_node, component, np.arange(n_nodes))
    rank = np.empty_like(smallest_node)
    rank[np.argsort(smallest_node)] = np.arange(smallest_node.size)
    if row_above is not None:
        n_edges += int(np.count_nonzero(row_above))  # the box's bottom border
    return _Parts(rank[component], node_offsets, first_rows, last_rows, n_edges)


def _edges_within(mask: np.ndarray, row_above: np.ndarray | None) -> int:
    """Boundary edges of a strip's cells, but their bottom sides on the strip's last row
    (counted with the next strip, or as the box's border)."""
    edges = int(np.count_nonzero(mask[:, 1:] != mask[:, :-1]))
    edges += int(np.count_nonzero(mask[:, 0])) + int(np.count_nonzero(mask[:, -1]))
    edges += int(np.count_nonzero(mask[1:] != mask[:-1]))
    above = np.zeros(mask.shape[1], dtype=bool) if row_above is None else row_above
    return edges + int(np.count_nonzero(above != mask[0]))


@dataclass(frozen=True)
class _StripPieces:
    """What one strip adds: closed rings and open pieces, corners in box (col, row).

    Attributes:
        ring_xy, ring_offsets, ring_part: corners of the rings closed inside the strip
            (not repeated at the end), and each ring's part.
        path_xy, path_offsets, path_part: corners of the open pieces; a piece's first
            corner is its first edge's start, kept even where it does not turn.
        path_entry_key, path_exit_key: key of a piece's first edge, and of the edge that
            follows its last (in the next or previous strip).
        path_first_direction, path_last_direction: of its first and last edges.
    """

    ring_xy: np.ndarray
    ring_offsets: np.ndarray
    ring_part: np.ndarray
    path_xy: np.ndarray
    path_offsets: np.ndarray
    path_part: np.ndarray
    path_entry_key: np.ndarray
    path_exit_key: np.ndarray
    path_first_direction: np.ndarray
    path_last_direction: np.ndarray


def _edge_key(
    direction: np.ndarray, row: np.ndarray, col: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """One int64 per edge of the box: its direction and its cell (box rows and columns)."""
    height_px, width_px = shape
    return (direction.astype(np.int64) * height_px + row) * width_px + col


def _trace_strip(
    read_mask: Callable[[int, int], np.ndarray],
    strips: list[tuple[int, int]],
    index: int,
    parts: _Parts,
    box_shape: tuple[int, int],
) -> _StripPieces:
    row_off, n_rows = strips[index]
    halo_above = 1 if index > 0 else 0
    halo_below = 1 if index + 1 < len(strips) else 0
    mask = read_mask(row_off - halo_above, n_rows + halo_above + halo_below)
    # Each cell's part: the strip's own rows labelled again (as in _join_parts), the halo
    # rows from the neighbours' first and last rows.
    local, _ = ndimage.label(mask[halo_above : halo_above + n_rows], structure=_FOUR_CONNECTED)
    node_offset = parts.node_offsets[index]
    part = np.zeros(mask.shape, dtype=np.int64)
    part[halo_above : halo_above + n_rows] = parts.part_of_node[
        np.where(local > 0, local + node_offset, 0)
    ]
    if halo_above:
        part[0] = parts.part_of_node[parts.last_row_nodes[index - 1]]
    if halo_below:
        part[-1] = parts.part_of_node[parts.first_row_nodes[index + 1]]
    del local
    labels = mask.view(np.uint8)
    start_row, start_col, direction, label, cell_row, cell_col = boundary_edge_table(labels)
    component = part[cell_row, cell_col]
    del part
    following = next_edges(cell_row, cell_col, direction, label, component, mask.shape)
    del label
    # Edges of the halo rows (whose outer sides are not the gap's) only serve as the
    # successors of the strip's own edges across a cut.
    is_own = (cell_row >= halo_above) & (cell_row < halo_above + n_rows)
    previous = np.empty_like(following)
    previous[following] = np.arange(following.size)
    own = np.flatnonzero(is_own)
    is_entry = ~is_own[previous[own]]
    is_exit = ~is_own[following[own]]
    # Entries first: then every cycle holding a piece starts at a piece's entry.
    own = np.r_[own[is_entry], own[~is_entry]]
    is_exit = is_exit[np.r_[np.flatnonzero(is_entry), np.flatnonzero(~is_entry)]]
    n_entries = int(np.count_nonzero(is_entry))
    if n_entries != int(np.count_nonzero(is_exit)):
        raise RuntimeError("a strip's ring pieces do not pair up: the gap mask is malformed")
    local_of = np.full(following.size, -1, dtype=np.int64)
    local_of[own] = np.arange(own.size)
    following_own = local_of[following[own]]
    # Each exit is linked to some entry: every cycle of the walk is then a closed ring or
    # whole pieces one after the other (which piece follows which is found later).
    following_own[np.flatnonzero(is_exit)] = np.arange(n_entries)
    order, cycle = walk_rings(following_own)

    box_row = start_row[own[order]] - halo_above + row_off
    box_col = start_col[own[order]]
    walk_direction = direction[own[order]]
    walk_part = component[own[order]]
    starts_piece = order < n_entries
    segment_first = np.flatnonzero(np.r_[True, cycle[1:] != cycle[:-1]] | starts_piece)
    segment_last = np.r_[segment_first[1:] - 1, order.size - 1]
    segment_is_path = starts_piece[segment_first]
    previous_direction = np.r_[walk_direction[-1], walk_direction[:-1]]
    # Closed rings wrap to their own last edge; a piece keeps its first edge's start.
    previous_direction[segment_first] = walk_direction[segment_last]
    is_corner = walk_direction != previous_direction
    segment_of = np.repeat(np.arange(segment_first.size), segment_last - segment_first + 1)
    is_corner[segment_first[segment_is_path]] = True
    corner_xy = np.column_stack([box_col[is_corner], box_row[is_corner]]).astype(np.int32)
    corner_segment = segment_of[is_corner]
    n_corners = np.bincount(corner_segment, minlength=segment_first.size)
    corner_offsets = offsets_of(n_corners)

    def gather(which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts, stops = corner_offsets[:-1][which], corner_offsets[1:][which]
        return corner_xy[concatenated_ranges(starts, stops)], offsets_of(stops - starts)

    rings = np.flatnonzero(~segment_is_path)
    paths = np.flatnonzero(segment_is_path)
    ring_xy, ring_offsets = gather(rings)
    path_xy, path_offsets = gather(paths)
    first_edge = own[order[segment_first[paths]]]
    last_edge = own[order[segment_last[paths]]]
    successor = following[last_edge]  # a halo edge: its cell lies one row beyond the strip

    def key_of(edges: np.ndarray) -> np.ndarray:
        box_rows = cell_row[edges] - halo_above + row_off
        return _edge_key(direction[edges], box_rows, cell_col[edges], box_shape)

    return _StripPieces(
        ring_xy=ring_xy,
        ring_offsets=ring_offsets,
        ring_part=walk_part[segment_first[rings]],
        path_xy=path_xy,
        path_offsets=path_offsets,
        path_part=walk_part[segment_first[paths]],
        path_entry_key=key_of(first_edge),
        path_exit_key=key_of(successor),
        path_first_direction=direction[first_edge],
        path_last_direction=direction[last_edge],
    )


# Vertices handled per vectorized step when the rings are put together (int64 temporaries).
_CHUNK = 2**20


def _stitch(pieces: list[_StripPieces]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring of the gap: ``(corners (V, 2) int32 box col/row, ring sizes, ring parts)``.

    The open pieces are joined where one's exit key is another's entry key; a piece's
    first corner is dropped where the edge before it runs the same way (no turn there).
    ``pieces`` is emptied as it is read: the corners are held once, plus one copy.
    """

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(piece, name) for piece in pieces])

    def sizes(name: str) -> np.ndarray:
        return np.concatenate([np.diff(getattr(piece, name)) for piece in pieces])

    ring_sizes, ring_part = sizes("ring_offsets"), joined("ring_part")
    path_sizes, path_part = sizes("path_offsets"), joined("path_part")
    entry_key, exit_key = joined("path_entry_key"), joined("path_exit_key")
    first_direction, last_direction = joined("path_first_direction"), joined("path_last_direction")
    ring_xy, path_xy = joined("ring_xy"), joined("path_xy")
    pieces.clear()
    if path_sizes.size == 0:
        return ring_xy, ring_sizes, ring_part
    path_offsets = offsets_of(path_sizes)
    by_entry = np.argsort(entry_key, kind="stable")
    found = np.minimum(np.searchsorted(entry_key[by_entry], exit_key), entry_key.size - 1)
    if not np.array_equal(entry_key[by_entry[found]], exit_key):
        raise RuntimeError("a ring piece leaves a strip where no piece enters the next")
    order, cycle = walk_rings(by_entry[found])
    cycle_first = np.flatnonzero(np.r_[True, cycle[1:] != cycle[:-1]])
    cycle_last = np.r_[cycle_first[1:] - 1, order.size - 1]
    before = np.r_[order[-1], order[:-1]]
    before[cycle_first] = order[cycle_last]
    drop_first = (first_direction[order] == last_direction[before]).astype(np.int64)
    starts = path_offsets[:-1][order] + drop_first
    stops = path_offsets[1:][order]
    # Gathered into place a chunk of pieces at a time: an index of every vertex would
    # cost as much as the corners themselves.
    lengths = stops - starts
    placed = offsets_of(lengths) + ring_xy.shape[0]
    xy = np.empty((int(placed[-1]), 2), dtype=np.int32)
    xy[: ring_xy.shape[0]] = ring_xy
    del ring_xy
    first = 0
    while first < order.size:
        last = max(first + 1, int(np.searchsorted(placed, placed[first] + _CHUNK, "right")) - 1)
        last = min(last, order.size)
        xy[placed[first] : placed[last]] = path_xy[
            concatenated_ranges(starts[first:last], stops[first:last])
        ]
        first = last
    stitched_sizes = np.add.reduceat(lengths, cycle_first)
    return xy, np.r_[ring_sizes, stitched_sizes], np.r_[ring_part, path_part[order[cycle_first]]]


def trace_label_in_strips(
    read_rows: Callable[[int, int, int, int], np.ndarray],
    label: int,
    box: Sequence[int],
    what: str = "a gap",
    strip_cells: int | None = None,
) -> TracedRings:
    """The rings of one label, its bounding box read a strip at a time (twice).

    Args:
        read_rows: ``(row_off, col_off, n_rows, n_cols) -> ids`` of the raster.
        label: the id traced; every other id is background.
        box: ``row_start, row_stop, col_start, col_stop`` of the label.
        what: the label in an error message ("gap 12").
        strip_cells: cells of the box read at once (default ``STITCH_STRIP_CELLS``).

    Returns:
        The same rings as ``geo.trace.trace_labels`` gives for the label (each ring may
        start at another corner, and holes come in another order), in raster
        (column, row) corners.

    Raises:
        InferenceError: the rings would need more memory than is available
            (``check_trace_memory``, checked after the first read).
    """
    row_start, row_stop, col_start, col_stop = (int(value) for value in box)
    height_px, width_px = row_stop - row_start, col_stop - col_start
    strip_rows = max(2, (strip_cells or STITCH_STRIP_CELLS) // max(width_px, 1))
    strips = [
        (offset, min(strip_rows, height_px - offset)) for offset in range(0, height_px, strip_rows)
    ]

    def read_mask(row_off: int, n_rows: int) -> np.ndarray:
        return read_rows(row_start + row_off, col_start, n_rows, width_px) == label

    parts = _join_parts(read_mask, strips)
    check_trace_memory(parts.n_edges, (height_px, width_px), what)
    pieces = [
        _trace_strip(read_mask, strips, index, parts, (height_px, width_px))
        for index in range(len(strips))
    ]
    xy, sizes, ring_part = _stitch(pieces)
    del pieces
    labels = np.full(sizes.size, label, dtype=np.int64)
    return lay_out_rings(xy, sizes, ring_part, labels, (col_start, row_start))

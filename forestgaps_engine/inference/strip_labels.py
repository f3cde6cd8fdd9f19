"""8-connected labelling of a boolean raster read in row strips, in memory O(strip + patches).

Same result as whole-raster ``scipy.ndimage.label`` with a 3x3 structure, then dropping
patches under a minimum area and renumbering the survivors 1..n in row-major order of
their first cell (``gaps.detector.label_gaps``), without ever holding the whole raster.

Pass 1 labels each strip with scipy; strip ``s``'s local labels become provisional ids
``offset[s] + local``. A patch crossing a strip boundary joins its provisional ids through
a union-find fed by the (up to 3) 8-neighbours across the last row of one strip and the
first row of the next. scipy numbers labels in row-major order of their first cell, and
offsets grow strip by strip, so the smallest provisional id of a patch is its first cell:
unions keep the smaller id as root and the final order is the order of the roots.
Pass 2 reads the strips again, labels them again (deterministic) and maps provisional ids
to final ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from forestgaps_engine.gaps.detector import EIGHT_CONNECTED
from forestgaps_engine.geo.strip_parts import MAX_PROVISIONAL_ID, PartsFile, StripParts
from forestgaps_engine.threads import ordered_map

ReadRows = Callable[[int, int], np.ndarray]
"""``read_rows(row_off, n_rows) -> (n_rows, W) bool`` (True = foreground)."""


class _UnionFind:
    """Union-find over provisional ids 0..n; the root of a set is its smallest id."""

    def __init__(self) -> None:
        self.parent = np.zeros(1024, dtype=np.int64)
        self.size = 1

    def extend(self, n_new: int) -> None:
        needed = self.size + n_new
        if needed > self.parent.size:
            grown = np.zeros(max(needed, 2 * self.parent.size), dtype=np.int64)
            grown[: self.size] = self.parent[: self.size]
            self.parent = grown
        self.parent[self.size : needed] = np.arange(self.size, needed)
        self.size = needed

    def find(self, node: int) -> int:
        parent = self.parent
        root = node
        while parent[root] != root:
            root = int(parent[root])
        while parent[node] != root:
            parent[node], node = root, int(parent[node])
        return root

    def union(self, first: int, second: int) -> None:
        root_a, root_b = self.find(first), self.find(second)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def roots(self) -> np.ndarray:
        """(n + 1,) root of every id; roots are smaller than their members (pointer jumping)."""
        parent = self.parent[: self.size].copy()
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                return parent
            parent = jumped


@dataclass(frozen=True)
class StripLabelling:
    """Result of pass 1: how provisional ids of each strip map to final ids.

    Attributes:
        strip_rows: rows per strip (the last strip may be shorter).
        height_px: raster height.
        offsets: (n_strips,) int64, provisional id of strip s = offsets[s] + local label.
        final_ids: (n_provisional + 1,) int32, provisional id -> final id (0 = dropped).
        cell_counts: (n_gaps,) int64 cells of final id i + 1.
        parts: the strips' polygons when the labeller had a ``StripParts``, else None.
    """

    strip_rows: int
    height_px: int
    offsets: np.ndarray
    final_ids: np.ndarray
    cell_counts: np.ndarray
    parts: PartsFile | None = None

    @property
    def n_gaps(self) -> int:
        """Number of kept patches."""
        return int(self.cell_counts.size)

    def strip_ids(self, strip_index: int, is_foreground: np.ndarray) -> np.ndarray:
        """(rows, W) int32 final ids of one strip, from the same strip pass 1 read."""
        local = local_labels(is_foreground)
        # The strip's provisional ids are offset + 1 .. next offset: a table by local label
        # (0 stays 0) maps the strip in one gather instead of shifting every cell first.
        offset = int(self.offsets[strip_index])
        is_last = strip_index + 1 == self.offsets.size
        end = self.final_ids.size - 1 if is_last else int(self.offsets[strip_index + 1])
        by_local = self.final_ids[offset : end + 1].copy()
        by_local[0] = 0
        return by_local[local]


def boundary_pairs(previous_row: np.ndarray, current_row: np.ndarray) -> np.ndarray:
    """(k, 2) unique label pairs of two facing edge lines that touch as 8-neighbours.

    Strips join across their cut with it, and region blocks across their edges.
    """
    pairs = []
    width_px = previous_row.size
    for shift in (-1, 0, 1):
        above = previous_row[max(0, -shift) : width_px - max(0, shift)]
        below = current_row[max(0, shift) : width_px - max(0, -shift)]
        touching = (above > 0) & (below > 0)
        pairs.append(np.stack([above[touching], below[touching]], axis=1))
    joined = np.concatenate(pairs)
    return np.unique(joined, axis=0) if joined.size else joined


def local_labels(is_foreground: np.ndarray) -> np.ndarray:
    """(rows, W) int32 8-connected labels 1..n in row-major order of their first cell."""
    local = np.empty(is_foreground.shape, dtype=np.int32)
    ndimage.label(is_foreground, structure=EIGHT_CONNECTED, output=local)
    return local


def _labelled_strip(is_foreground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A strip's local labels and (n,) int64 cells of each local label 1..n."""
    local = local_labels(is_foreground)
    return local, np.bincount(local.ravel())[1:].astype(np.int64)


class StripLabeller:
    """Pass 1 fed strip by strip, in order: labels, the union-find and the cell counts.

    ``predict`` feeds it the cut's rows as the stream finishes them (``add_rows``), so
    the labelling runs while the model works on later rows; ``label_strips`` feeds it
    strips read back from a raster. Either way each strip of ``strip_rows`` rows (the last
    one shorter) is labelled alone, so the result is the same.

    Args:
        strip_rows: rows per strip (>= 1).
        parts: polygonizes the strips as they are labelled (``geo.strip_parts``), in
            blocks of at least ``parts.block_rows`` rows whose ids are the union-find's
            roots when the block is complete (a gap's cells in 4-contact within a block
            then share one id); None: no polygons.
    """

    def __init__(self, strip_rows: int, parts: StripParts | None = None) -> None:
        if strip_rows < 1:
            raise ValueError(f"strip_rows must be >= 1, got {strip_rows!r}")
        self.strip_rows = strip_rows
        self._union_find = _UnionFind()
        self._counts: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self._offsets: list[int] = []
        self._previous_last_row: np.ndarray | None = None
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self.height_px = 0
        self.parts = parts
        # Provisional ids with a cell right above or below one across a block edge.
        self._facing: list[np.ndarray] = []
        self._block: list[np.ndarray] = []
        self._block_rows = 0

    def add_labelled(self, local: np.ndarray, local_counts: np.ndarray) -> None:
        """Join one labelled strip (``_labelled_strip``), the next one down the raster."""
        offset = self._union_find.size - 1
        self._offsets.append(offset)
        self._union_find.extend(local_counts.size)
        self._counts.append(local_counts)
        first_row = np.where(local[0] > 0, local[0].astype(np.int64) + offset, 0)
        if self._previous_last_row is not None:
            for above, below in boundary_pairs(self._previous_last_row, first_row):
                self._union_find.union(int(above), int(below))
            if self.parts is not None and not self._block:
                facing = (self._previous_last_row > 0) & (first_row > 0)
                self._facing += [self._previous_last_row[facing], first_row[facing]]
        self._previous_last_row = np.where(local[-1] > 0, local[-1].astype(np.int64) + offset, 0)
        self.height_px += local.shape[0]
        if self.parts is not None:
            if offset + local_counts.size > MAX_PROVISIONAL_ID:
                raise ValueError(f"{offset + local_counts.size} patches exceed int32 ids")
            self._block.append(np.where(local > 0, local + np.int32(offset), 0))
            self._block_rows += local.shape[0]
            if self._block_rows >= self.parts.block_rows:
                self._polygonize_block()

    def _polygonize_block(self) -> None:
        """Polygonize the gathered strips, each id replaced by its root (0 stays 0)."""
        block, self._block, self._block_rows = self._block, [], 0
        self.parts.add_strip(block, self._union_find.roots().astype(np.int32))

    def add_rows(self, is_foreground: np.ndarray) -> None:
        """Take the next (n, W) bool rows; every complete strip among them is labelled."""
        self._pending.append(is_foreground)
        self._n_pending += is_foreground.shape[0]
        while self._n_pending >= self.strip_rows:
            self._label_pending(self.strip_rows)

    def _label_pending(self, n_rows: int) -> None:
        rows = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self.add_labelled(*_labelled_strip(rows[:n_rows]))
        rest = rows[n_rows:]
        self._pending = [rest] if rest.shape[0] else []
        self._n_pending = rest.shape[0]

    def finish(
        self, cell_area_m2: float, min_area_m2: float, max_area_m2: float | None = None
    ) -> StripLabelling:
        """Label the last (shorter) strip, merge the patches and keep those in the bounds.

        Args:
            cell_area_m2: area of one cell.
            min_area_m2: smaller patches are dropped (inclusive bound, as ``label_gaps``).
            max_area_m2: larger patches are dropped (inclusive bound); None = no bound.
        """
        if self._n_pending:
            self._label_pending(self._n_pending)
        if self._block:
            self._polygonize_block()
        roots = self._union_find.roots()
        provisional_counts = np.concatenate(self._counts)
        patch_counts = np.bincount(roots, weights=provisional_counts, minlength=roots.size)
        patch_counts = np.rint(patch_counts).astype(np.int64)
        # Same expression as label_mask_in_place, so the inclusive bound rounds identically.
        patch_area_m2 = patch_counts * float(cell_area_m2)
        is_kept = (patch_area_m2 >= min_area_m2) & (roots == np.arange(roots.size))
        if max_area_m2 is not None:
            is_kept &= patch_area_m2 <= max_area_m2
        is_kept[0] = False
        final_of_root = np.zeros(roots.size, dtype=np.int32)
        final_of_root[is_kept] = np.arange(1, int(is_kept.sum()) + 1, dtype=np.int32)
        final_ids = final_of_root[roots]
        parts = None
        if self.parts is not None:
            self.parts.close()
            facing = np.concatenate(self._facing) if self._facing else np.zeros(0, np.int64)
            parts = PartsFile(self.parts.path, final_ids, np.unique(facing))
        return StripLabelling(
            strip_rows=self.strip_rows,
            height_px=self.height_px,
            offsets=np.asarray(self._offsets, dtype=np.int64),
            final_ids=final_ids,
            cell_counts=patch_counts[is_kept],
            parts=parts,
        )

    def close(self) -> None:
        """Close the parts file, if any, without finishing (a failed or cancelled run)."""
        if self.parts is not None:
            self.parts.close()


def label_strips(
    read_rows: ReadRows,
    height_px: int,
    strip_rows: int,
    cell_area_m2: float,
    min_area_m2: float,
    max_area_m2: float | None = None,
    n_threads: int = 0,
) -> StripLabelling:
    """Pass 1: label a boolean raster strip by strip and keep patches of >= ``min_area_m2``.

    Args:
        read_rows: ``read_rows(row_off, n_rows)`` -> (n_rows, W) bool strip; called from
            the caller's thread only.
        height_px: raster height.
        strip_rows: rows per strip (>= 1).
        cell_area_m2: area of one cell.
        min_area_m2: smaller patches are dropped (inclusive bound, as ``label_gaps``).
        max_area_m2: larger patches are dropped (inclusive bound); None = no upper bound.
        n_threads: strips labelled at once, 0 = one per core (the result is the same).

    Returns:
        The mapping pass 2 (``final_strips``) applies.
    """
    labeller = StripLabeller(strip_rows)  # checks strip_rows >= 1
    strips = (
        read_rows(row_off, min(strip_rows, height_px - row_off))
        for row_off in range(0, height_px, strip_rows)
    )
    for local, local_counts in ordered_map(_labelled_strip, strips, n_threads):
        labeller.add_labelled(local, local_counts)
    return labeller.finish(cell_area_m2, min_area_m2, max_area_m2)


def final_strips(
    read_rows: ReadRows, labelling: StripLabelling
) -> Iterator[tuple[int, np.ndarray]]:
    """Pass 2: ``(row_off, (rows, W) int32 final ids)`` strip by strip, top to bottom."""
    for strip_index, row_off in enumerate(range(0, labelling.height_px, labelling.strip_rows)):
        n_rows = min(labelling.strip_rows, labelling.height_px - row_off)
        yield row_off, labelling.strip_ids(strip_index, read_rows(row_off, n_rows))

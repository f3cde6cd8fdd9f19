"""Global gap ids from per-block patches: join patches across block edges, filter, renumber.

Provisional id of a block's local label k is ``offset[block] + k``. Patches touching
across a block edge or corner (8-neighbours) are joined as connected components of the
graph of touching pairs (``scipy.sparse.csgraph``, a union-find over the edges). A gap's
cells, box and height figures are the sums, minima and maxima of its pieces; gaps within
the area bounds are numbered 1..n in row-major order of their first cell, as
``gaps.detector.label_gaps`` (ForestGapR) numbers the whole raster.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from forestgaps_engine.inference.postprocess import GapStatistics, StatisticsSum
from forestgaps_engine.inference.strip_labels import boundary_pairs
from forestgaps_engine.region.block_labels import BlockPatches
from forestgaps_engine.region.plan import BlockPlan


@dataclass(frozen=True)
class GlobalGaps:
    """Gaps of one threshold over the whole mosaic.

    Attributes:
        final_ids: block name -> (n_local + 1,) int32 final id of each local label (0 kept 0).
        area_m2: (n,) area of gap id i + 1.
        boxes: (n, 4) int64 row_start, row_stop, col_start, col_stop.
        statistics: per-gap height figures.
        n_gap_px: cells in a kept gap.
    """

    final_ids: dict[str, np.ndarray]
    area_m2: np.ndarray
    boxes: np.ndarray
    statistics: GapStatistics
    n_gap_px: int

    @property
    def n_gaps(self) -> int:
        """Number of gaps."""
        return int(self.area_m2.size)


def _edge_pairs(plan: BlockPlan, patches: dict[str, BlockPatches], offsets: dict[str, int]
                ) -> np.ndarray:  # fmt: skip
    """(k, 2) provisional id pairs joined across block edges and corners."""
    by_position = {(block.block_row, block.block_col): block.name for block in plan.blocks}
    pairs = [np.zeros((0, 2), np.int64)]

    def add(name_a: str, labels_a: np.ndarray, name_b: str, labels_b: np.ndarray) -> None:
        found = boundary_pairs(labels_a, labels_b).astype(np.int64)
        if found.size:
            found[:, 0] += offsets[name_a]
            found[:, 1] += offsets[name_b]
            pairs.append(found)

    for (row, col), name in by_position.items():
        here = patches[name]
        right = by_position.get((row, col + 1))
        if right:
            add(name, here.right, right, patches[right].left)
        below = by_position.get((row + 1, col))
        if below:
            add(name, here.bottom, below, patches[below].top)
        # Corners: the diagonal blocks touch by a single cell.
        for d_col, mine, theirs in ((1, -1, 0), (-1, 0, -1)):
            corner = by_position.get((row + 1, col + d_col))
            if corner:
                add(name, here.bottom[[mine]], corner, patches[corner].top[[theirs]])
    return np.concatenate(pairs)


def merge_patches(
    plan: BlockPlan,
    patches: dict[str, BlockPatches],
    cell_area_m2: float,
    min_area_m2: float,
    max_area_m2: float | None,
) -> GlobalGaps:
    """Join the blocks' patches into the gaps of the mosaic (see the module docstring)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = [block.name for block in plan.blocks]
    *starts, total = itertools.accumulate((patches[name].n_patches for name in names), initial=0)
    offsets = dict(zip(names, starts, strict=True))
    n_nodes = total + 1  # node 0: background

    def stacked(field: str) -> np.ndarray:
        arrays = [getattr(patches[name], field) for name in names]
        return np.concatenate(arrays) if total else np.zeros((0,) + arrays[0].shape[1:])

    pairs = _edge_pairs(plan, patches, offsets)
    graph = coo_matrix(
        (np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n_nodes, n_nodes)
    )
    _n, component = connected_components(graph, directed=False)
    node_component = component[1:]
    n_components = int(component.max(initial=0)) + 1
    counts = np.zeros(n_components, np.int64)
    np.add.at(counts, node_component, stacked("counts").astype(np.int64))
    first_keys = np.full(n_components, np.iinfo(np.int64).max)
    np.minimum.at(first_keys, node_component, stacked("first_keys").astype(np.int64))
    area_m2 = counts * float(cell_area_m2)
    is_kept = (area_m2 >= min_area_m2) & (counts > 0)
    if max_area_m2 is not None:
        is_kept &= area_m2 <= max_area_m2
    kept = np.flatnonzero(is_kept)
    kept = kept[np.argsort(first_keys[kept], kind="stable")]
    final_of_component = np.zeros(n_components, np.int32)
    final_of_component[kept] = np.arange(1, kept.size + 1, dtype=np.int32)
    final_of_node = final_of_component[node_component]
    final_ids = {
        name: np.concatenate(
            [[0], final_of_node[offsets[name] : offsets[name] + patches[name].n_patches]]
        ).astype(np.int32)
        for name in names
    }
    statistics, boxes = _gap_figures(stacked, final_of_node, kept.size, area_m2[kept])
    return GlobalGaps(final_ids, area_m2[kept], boxes, statistics, int(counts[kept].sum()))


def _gap_figures(stacked, final_of_node: np.ndarray, n_gaps: int, area_m2: np.ndarray
                 ) -> tuple[GapStatistics, np.ndarray]:  # noqa: ANN001  # fmt: skip
    """Height figures and boxes of the kept gaps, folded over their pieces."""
    # Slot 0 takes the pieces of dropped gaps.
    totals = StatisticsSum(n_gaps)
    np.add.at(totals.sums, final_of_node, stacked("sums"))
    np.add.at(totals.valid_counts, final_of_node, stacked("valid_counts"))
    np.minimum.at(totals.lows, final_of_node, stacked("lows"))
    np.maximum.at(totals.highs, final_of_node, stacked("highs"))
    far = np.iinfo(np.int64).max
    boxes = np.tile(np.array([far, 0, far, 0]), (n_gaps + 1, 1))
    piece_boxes = stacked("boxes").astype(np.int64).reshape(-1, 4)
    for column, fold in ((0, np.minimum), (1, np.maximum), (2, np.minimum), (3, np.maximum)):
        fold.at(boxes[:, column], final_of_node, piece_boxes[:, column])
    return totals.statistics(area_m2), boxes[1:]

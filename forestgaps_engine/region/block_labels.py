"""Gap patches of one block: what the global merge needs of its local labels.

Per local label (``strip_labels.local_labels``): cells, first cell (global row-major
key), box, and height sums, minima and maxima; plus the labels on the block's four
edges, which the merge joins to the neighbouring blocks' edges.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage

from forestgaps_engine.region.plan import Block


@dataclass(frozen=True)
class BlockPatches:
    """The patches of one block and threshold (index k = local label k + 1)."""

    counts: np.ndarray  # (n,) int64 cells
    first_keys: np.ndarray  # (n,) int64 row * mosaic width + col of the first cell
    boxes: np.ndarray  # (n, 4) int64 global row_start, row_stop, col_start, col_stop
    sums: np.ndarray  # (n,) float64 heights
    valid_counts: np.ndarray  # (n,) int64 cells with a height
    lows: np.ndarray  # (n,) float64 (+inf: none)
    highs: np.ndarray  # (n,) float64 (-inf: none)
    top: np.ndarray  # (w,) int32 labels of the first row
    bottom: np.ndarray
    left: np.ndarray  # (h,) int32 labels of the first column
    right: np.ndarray

    @property
    def n_patches(self) -> int:
        """Number of gap patches in this block."""
        return int(self.counts.size)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez`` under ``prefix`` (one prefix per threshold)."""
        return {f"{prefix}{field.name}": getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray] | np.lib.npyio.NpzFile, prefix: str
                    ) -> BlockPatches:  # fmt: skip
        """Rebuild the labels from ``arrays`` written by ``to_arrays`` with ``prefix``."""
        return cls(**{field.name: arrays[f"{prefix}{field.name}"] for field in fields(cls)})


def block_patches(
    labels: np.ndarray, heights: np.ndarray, valid: np.ndarray, block: Block, width_px: int
) -> BlockPatches:
    """Figures of every local patch of a block's core.

    Args:
        labels: (h, w) local labels of the core.
        heights: (h, w) float32 heights (DSM or CHM) of the core, NaN at nodata.
        valid: (h, w) bool, heights present.
        block: the block (for global coordinates).
        width_px: mosaic width (row-major keys).
    """
    n = int(labels.max(initial=0))
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=n + 1)[1:].astype(np.int64)
    present, first = np.unique(flat, return_index=True)
    first = first[present > 0]
    rows = block.row_off + first // block.width_px
    cols = block.col_off + first % block.width_px
    first_keys = rows.astype(np.int64) * width_px + cols
    # find_objects: the (row, column) slices of labels 1..n, local to the block.
    spans = [(r.start, r.stop, c.start, c.stop) for r, c in ndimage.find_objects(labels)]
    boxes = np.array(spans, np.int64).reshape(n, 4)
    boxes += (block.row_off, block.row_off, block.col_off, block.col_off)
    inside = (labels > 0) & valid
    ids = labels[inside]
    values = heights[inside].astype(np.float64)
    sums = np.bincount(ids, weights=values, minlength=n + 1)[1:]
    valid_counts = np.bincount(ids, minlength=n + 1)[1:].astype(np.int64)
    lows = np.full(n + 1, np.inf)
    highs = np.full(n + 1, -np.inf)
    np.minimum.at(lows, ids, values)
    np.maximum.at(highs, ids, values)
    return BlockPatches(
        counts, first_keys, boxes, sums, valid_counts, lows[1:], highs[1:],
        labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy(),
    )  # fmt: skip

"""Smooth blending of overlapping tile predictions, accumulated one tile row at a time.

A tile's weight tapers only on the sides it shares with a neighbour, over the width of
that overlap: tapers of two neighbours are complementary (Hann: sin² + cos² = 1; linear:
t + (1 - t) = 1) so a stitched prediction has no seam, and sides on the raster border keep
weight 1 so edge tiles never lose their border pixels. Weights are sampled at pixel centres
and therefore never exactly 0 inside the raster.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from forestgaps_engine.inference.windows import Tile

BlendKind = Literal["hann", "linear", "none"]


def _ramp(length_px: int, kind: BlendKind) -> np.ndarray:
    """Rising weights over ``length_px`` pixels, strictly inside (0, 1)."""
    centres = (np.arange(length_px, dtype=np.float64) + 0.5) / length_px
    if kind == "hann":
        return np.sin(0.5 * np.pi * centres) ** 2
    if kind == "linear":
        return centres
    raise ValueError(f"unknown blend {kind!r}; expected hann, linear or none")


def axis_weights(
    size_px: int, lead_overlap_px: int, trail_overlap_px: int, kind: BlendKind
) -> np.ndarray:
    """1-D weights of one tile along one axis.

    Args:
        size_px: tile length.
        lead_overlap_px: pixels shared with the previous tile (0 at the raster start).
        trail_overlap_px: pixels shared with the next tile (0 at the raster end).
        kind: ``hann``, ``linear`` or ``none`` (plain average where tiles overlap).

    Returns:
        (size_px,) float64 weights in (0, 1].
    """
    weights = np.ones(size_px, dtype=np.float64)
    if kind == "none":
        return weights
    if lead_overlap_px > 0:
        weights[:lead_overlap_px] *= _ramp(lead_overlap_px, kind)
    if trail_overlap_px > 0:
        weights[size_px - trail_overlap_px :] *= _ramp(trail_overlap_px, kind)[::-1]
    return weights


def _axis_weights_by_start(
    starts: list[int], size_px: int, kind: BlendKind
) -> dict[int, np.ndarray]:
    """Tile start -> its 1-D weights along one axis, from its overlaps with its neighbours."""
    weights = {}
    for index, start in enumerate(starts):
        lead = starts[index - 1] + size_px - start if index > 0 else 0
        trail = start + size_px - starts[index + 1] if index + 1 < len(starts) else 0
        weights[start] = axis_weights(size_px, max(lead, 0), max(trail, 0), kind)
    return weights


class TileWeights:
    """2-D blending weights of every tile of a tiling, computed once per distinct tile.

    Args:
        row_starts: tile row offsets (increasing).
        col_starts: tile column offsets (increasing).
        tile_height_px: tile height.
        tile_width_px: tile width.
        kind: blend kind.
    """

    def __init__(
        self,
        row_starts: list[int],
        col_starts: list[int],
        tile_height_px: int,
        tile_width_px: int,
        kind: BlendKind,
    ) -> None:
        self._rows = _axis_weights_by_start(row_starts, tile_height_px, kind)
        self._cols = _axis_weights_by_start(col_starts, tile_width_px, kind)

    @classmethod
    def of_rows(cls, rows: list[list[Tile]], kind: BlendKind) -> TileWeights:
        """The weights of a tiling given by its tile rows (``windows.tile_rows``)."""
        first = rows[0][0]
        row_starts, col_starts = [row[0].row_off for row in rows], [t.col_off for t in rows[0]]
        return cls(row_starts, col_starts, first.height_px, first.width_px, kind)

    def of(self, tile: Tile) -> np.ndarray:
        """(height_px, width_px) float32 weights of ``tile``."""
        return np.outer(self._rows[tile.row_off], self._cols[tile.col_off]).astype(np.float32)


class TileRowBlender:
    """Weighted sums of tile predictions, one tile row at a time, in chunks of columns.

    Within a tile row, tiles come in chunks, left to right. After a chunk, the cells above
    the next tile row and left of a column the caller picks (no later tile of the row may
    start left of it) are finished: they are blended and handed out. What later tiles
    still touch is carried: the rows shared with the next tile row (full width, but only
    those overlap rows) and the columns right of the handed-out ones (one tile height).
    Memory is O(tile height x chunk width + overlap rows x raster width), where a band of
    full-width rows would hold tile height x raster width. Every cell adds the same
    products in the same order as a band would (tile rows top to bottom, tiles left to
    right), so the blended values are bitwise the same whatever the chunks.

    Args:
        n_channels: predictions per pixel (one per threshold).
        width_px: raster width.
    """

    def __init__(self, n_channels: int, width_px: int) -> None:
        self.n_channels = n_channels
        self.width_px = width_px
        # Rows [_carry_row, _carry_row + carried_rows) summed by earlier tile rows.
        self._carry_row = 0
        self._carry_sum = np.zeros((n_channels, 0, width_px), dtype=np.float32)
        self._carry_weight = np.zeros((0, width_px), dtype=np.float32)
        self._row_off = self._row_end = self._finished_row = 0
        self._next_sum = self._carry_sum
        self._next_weight = self._carry_weight
        # The current chunk's sums cover columns [_col_off, _col_end); columns left of
        # _col_off are handed out for this tile row.
        self._col_off = self._col_end = 0
        self._sum = np.zeros((n_channels, 0, 0), dtype=np.float32)
        self._weight = np.zeros((0, 0), dtype=np.float32)

    @property
    def carried_rows(self) -> int:
        """Rows carried into the next tile row (overlap rows, not a tile height)."""
        return self._carry_weight.shape[0]

    def start_row(self, row_off: int, row_end: int, finished_row: int) -> None:
        """Begin the tile row covering rows [row_off, row_end).

        Args:
            row_off: its first row; rows above it must all be finished.
            row_end: one past its last row.
            finished_row: rows up to here (exclusive) are finished by this tile row: the
                next tile row's first row, or the raster height for the last tile row.
        """
        carry_end = self._carry_row + self.carried_rows
        if self.carried_rows and (row_off != self._carry_row or carry_end > row_end):
            raise ValueError(
                f"tile row [{row_off}, {row_end}) does not continue the carried rows "
                f"[{self._carry_row}, {carry_end})"
            )
        if not row_off <= finished_row <= row_end:
            raise ValueError(f"finished row {finished_row} outside [{row_off}, {row_end}]")
        self._row_off, self._row_end, self._finished_row = row_off, row_end, finished_row
        n_next = row_end - finished_row
        self._next_sum = np.zeros((self.n_channels, n_next, self.width_px), np.float32)
        self._next_weight = np.zeros((n_next, self.width_px), np.float32)
        self._col_off = self._col_end = 0
        self._sum = np.zeros((self.n_channels, row_end - row_off, 0), np.float32)
        self._weight = np.zeros((row_end - row_off, 0), np.float32)

    def start_chunk(self, col_end: int) -> None:
        """Extend the sums to column ``col_end`` (one past the chunk's last tile)."""
        if not self._col_end <= col_end <= self.width_px:
            raise ValueError(f"chunk end {col_end} outside [{self._col_end}, {self.width_px}]")
        height_px = self._row_end - self._row_off
        width_px = col_end - self._col_off
        sums = np.zeros((self.n_channels, height_px, width_px), np.float32)
        weight = np.zeros((height_px, width_px), np.float32)
        # Columns left of _col_end already hold the carry and the previous chunks' tiles.
        start = self._col_end - self._col_off
        sums[:, :, :start] = self._sum
        weight[:, :start] = self._weight
        n_carried = self.carried_rows
        sums[:, :n_carried, start:] = self._carry_sum[:, :, self._col_end : col_end]
        weight[:n_carried, start:] = self._carry_weight[:, self._col_end : col_end]
        self._sum, self._weight, self._col_end = sums, weight, col_end

    def add(self, tile: Tile, values: np.ndarray, weights: np.ndarray) -> None:
        """Accumulate one tile of the current chunk.

        Args:
            tile: where the values lie; inside the current tile row, not left of the
                handed-out columns nor right of the chunk's end.
            values: (n_channels, tile.height_px, tile.width_px) predictions.
            weights: (tile.height_px, tile.width_px) blending weights.
        """
        if (
            tile.row_off < self._row_off
            or tile.row_end > self._row_end
            or tile.col_off < self._col_off
            or tile.col_end > self._col_end
        ):
            raise ValueError(
                f"tile {tile} lies outside the current sums: rows [{self._row_off}, "
                f"{self._row_end}), columns [{self._col_off}, {self._col_end})"
            )
        rows = slice(tile.row_off - self._row_off, tile.row_end - self._row_off)
        cols = slice(tile.col_off - self._col_off, tile.col_end - self._col_off)
        self._sum[:, rows, cols] += values * weights
        self._weight[rows, cols] += weights

    def finish_chunk(self, finished_col: int) -> tuple[int, np.ndarray]:
        """Hand out the finished cells left of ``finished_col`` and carry the others.

        Args:
            finished_col: no tile still to come in this tile row starts left of it (the
                next chunk's first column at most; the raster width after the last chunk).

        Returns:
            (first column, (n_channels, finished_row - row_off, n_columns) float32 blended
            values of rows [row_off, finished_row) and columns [first column,
            finished_col)); cells no tile covered are NaN.
        """
        if not self._col_off <= finished_col <= self._col_end:
            raise ValueError(
                f"finished column {finished_col} outside [{self._col_off}, {self._col_end}]"
            )
        n_rows = self._finished_row - self._row_off
        n_cols = finished_col - self._col_off
        weight = self._weight[:n_rows, :n_cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            blended = self._sum[:, :n_rows, :n_cols] / weight
        blended[:, weight <= 0] = np.nan
        first_col = self._col_off
        self._next_sum[:, :, first_col:finished_col] = self._sum[:, n_rows:, :n_cols]
        self._next_weight[:, first_col:finished_col] = self._weight[n_rows:, :n_cols]
        # Views: start_chunk copies them into the next chunk's sums.
        self._sum = self._sum[:, :, n_cols:]
        self._weight = self._weight[:, n_cols:]
        self._col_off = finished_col
        return first_col, blended

    def finish_row(self) -> None:
        """End the tile row: its unfinished rows become the carry of the next one."""
        if self._col_off != self.width_px:
            raise ValueError(f"tile row ended before column {self._col_off} was handed out")
        self._carry_row = self._finished_row
        self._carry_sum, self._carry_weight = self._next_sum, self._next_weight

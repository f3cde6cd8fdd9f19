"""Smooth blending of overlapping tile predictions, accumulated one band of rows at a time.

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
    start_px: int, size_px: int, lead_overlap_px: int, trail_overlap_px: int, kind: BlendKind
) -> np.ndarray:
    """1-D weights of one tile along one axis.

    Args:
        start_px: tile start (only used in messages).
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
    if lead_overlap_px > size_px or trail_overlap_px > size_px:
        raise ValueError(
            f"overlaps exceed the tile at {start_px}: {lead_overlap_px}, {trail_overlap_px}"
        )
    if lead_overlap_px > 0:
        weights[:lead_overlap_px] *= _ramp(lead_overlap_px, kind)
    if trail_overlap_px > 0:
        weights[size_px - trail_overlap_px :] *= _ramp(trail_overlap_px, kind)[::-1]
    return weights


def _axis_overlaps(starts: list[int], size_px: int) -> list[tuple[int, int]]:
    """(lead, trail) overlap of each tile with its neighbours along one axis."""
    overlaps = []
    for index, start in enumerate(starts):
        lead = starts[index - 1] + size_px - start if index > 0 else 0
        trail = start + size_px - starts[index + 1] if index + 1 < len(starts) else 0
        overlaps.append((max(lead, 0), max(trail, 0)))
    return overlaps


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
        self._rows = {
            start: axis_weights(start, tile_height_px, lead, trail, kind)
            for start, (lead, trail) in zip(
                row_starts, _axis_overlaps(row_starts, tile_height_px), strict=True
            )
        }
        self._cols = {
            start: axis_weights(start, tile_width_px, lead, trail, kind)
            for start, (lead, trail) in zip(
                col_starts, _axis_overlaps(col_starts, tile_width_px), strict=True
            )
        }

    def of(self, tile: Tile) -> np.ndarray:
        """(height_px, width_px) float32 weights of ``tile``."""
        return np.outer(self._rows[tile.row_off], self._cols[tile.col_off]).astype(np.float32)


class RowBandAccumulator:
    """Weighted sums of tile predictions over a sliding band of full-width rows.

    Memory holds only the rows not yet finished (about one tile height), whatever the
    raster height.

    Args:
        n_channels: predictions per pixel (one per threshold).
        width_px: raster width.
    """

    def __init__(self, n_channels: int, width_px: int) -> None:
        self.n_channels = n_channels
        self.width_px = width_px
        self.row_start = 0
        self._sum = np.zeros((n_channels, 0, width_px), dtype=np.float32)
        self._weight = np.zeros((0, width_px), dtype=np.float32)

    @property
    def row_end(self) -> int:
        """One past the last row held."""
        return self.row_start + self._weight.shape[0]

    def _grow_to(self, row_end: int) -> None:
        extra = row_end - self.row_end
        if extra <= 0:
            return
        self._sum = np.concatenate(
            [self._sum, np.zeros((self.n_channels, extra, self.width_px), np.float32)], axis=1
        )
        self._weight = np.concatenate(
            [self._weight, np.zeros((extra, self.width_px), np.float32)], axis=0
        )

    def add(self, tile: Tile, values: np.ndarray, weights: np.ndarray) -> None:
        """Accumulate one tile.

        Args:
            tile: where the values lie; must not start above ``row_start``.
            values: (n_channels, tile.height_px, tile.width_px) predictions.
            weights: (tile.height_px, tile.width_px) blending weights.
        """
        if tile.row_off < self.row_start:
            raise ValueError(f"tile {tile} starts above the finished rows ({self.row_start})")
        self._grow_to(tile.row_end)
        rows, cols = tile.slices(self.row_start)
        self._sum[:, rows, cols] += values * weights
        self._weight[rows, cols] += weights

    def pop_until(self, row_end: int) -> tuple[int, np.ndarray]:
        """Finish rows up to ``row_end`` (exclusive) and drop them from the band.

        Returns:
            (first row, (n_channels, n_rows, width_px) float32 blended values). Cells no
            tile covered are NaN.
        """
        count = max(0, min(row_end, self.row_end) - self.row_start)
        weight = self._weight[:count]
        with np.errstate(invalid="ignore", divide="ignore"):
            blended = self._sum[:, :count] / weight
        blended[:, weight <= 0] = np.nan
        first_row = self.row_start
        self._sum = self._sum[:, count:].copy()
        self._weight = self._weight[count:].copy()
        self.row_start += count
        return first_row, blended

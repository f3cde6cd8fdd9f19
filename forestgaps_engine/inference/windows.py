"""Windows over a raster of any size: frozen tiles, tile rows (strips) and batches.

Tiles all share one shape so they batch together: along each axis tiles start every
``tile_size_px - overlap_px`` pixels and the last one is pulled back to end on the raster
edge; an axis shorter than a tile gets one tile as long as the axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """A window in pixel coordinates of the raster being predicted.

    Attributes:
        row_off: first row.
        col_off: first column.
        height_px: number of rows.
        width_px: number of columns.
    """

    row_off: int
    col_off: int
    height_px: int
    width_px: int

    def __post_init__(self) -> None:
        if self.row_off < 0 or self.col_off < 0 or self.height_px <= 0 or self.width_px <= 0:
            raise ValueError(f"invalid tile {self!r}: offsets must be >= 0, sizes > 0")

    @property
    def row_end(self) -> int:
        """One past the last row."""
        return self.row_off + self.height_px

    @property
    def col_end(self) -> int:
        """One past the last column."""
        return self.col_off + self.width_px

    def slices(self, row_origin: int = 0) -> tuple[slice, slice]:
        """(rows, columns) slices of this tile in an array whose first row is ``row_origin``."""
        return (
            slice(self.row_off - row_origin, self.row_end - row_origin),
            slice(self.col_off, self.col_end),
        )


def axis_starts(length_px: int, tile_size_px: int, overlap_px: int) -> list[int]:
    """Start offsets of the tiles along one axis of ``length_px`` pixels.

    Args:
        length_px: axis length.
        tile_size_px: tile length along the axis.
        overlap_px: minimum overlap between neighbouring tiles (< tile_size_px / 2).

    Returns:
        Increasing offsets; consecutive tiles overlap by at least ``overlap_px`` and the
        last one ends exactly at ``length_px``.
    """
    if length_px <= 0:
        raise ValueError(f"axis length must be positive, got {length_px}")
    if tile_size_px <= 0 or overlap_px < 0 or 2 * overlap_px >= tile_size_px:
        raise ValueError(
            f"need 0 <= overlap_px ({overlap_px}) < tile_size_px / 2 ({tile_size_px / 2:g})"
        )
    if length_px <= tile_size_px:
        return [0]
    stride_px = tile_size_px - overlap_px
    starts = list(range(0, length_px - tile_size_px, stride_px))
    starts.append(length_px - tile_size_px)
    return starts


def tile_rows(
    height_px: int, width_px: int, tile_size_px: int, overlap_px: int
) -> list[list[Tile]]:
    """Tiles covering a ``height_px`` x ``width_px`` raster, grouped by tile row (strip).

    Returns:
        One list per tile row, top to bottom; within a row, tiles left to right.
    """
    tile_h = min(tile_size_px, height_px)
    tile_w = min(tile_size_px, width_px)
    col_starts = axis_starts(width_px, tile_size_px, overlap_px)
    return [
        [Tile(row, col, tile_h, tile_w) for col in col_starts]
        for row in axis_starts(height_px, tile_size_px, overlap_px)
    ]


def batches(tiles: Sequence[Tile], batch_size: int) -> Iterator[list[Tile]]:
    """Consecutive groups of at most ``batch_size`` tiles."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    for start in range(0, len(tiles), batch_size):
        yield list(tiles[start : start + batch_size])


def computed_pixel_ratio(
    height_px: int, width_px: int, tile_size_px: int, overlap_px: int
) -> float:
    """Pixels the model computes per output pixel (>= 1; the cost of overlapping)."""
    rows = tile_rows(height_px, width_px, tile_size_px, overlap_px)
    computed = sum(tile.height_px * tile.width_px for row in rows for tile in row)
    return computed / (height_px * width_px)

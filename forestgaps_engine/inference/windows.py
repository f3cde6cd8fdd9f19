"""Windows over a raster of any size: frozen tiles, tile rows (strips) and batches.

Tiles all share one shape so they batch together: along each axis tiles start every
``tile_size_px - overlap_px`` pixels and the last one is pulled back to end on the raster
edge; an axis shorter than a tile gets one tile as long as the axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forestgaps_engine.data.tiling import Tile


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

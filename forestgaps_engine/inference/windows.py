"""Windows over a raster of any size: frozen tiles, tile rows (strips) and batches.

Tiles all share one shape so they batch together. ``tile_size_px`` is the longest tile:
along each axis the tile is shortened to the least length (a multiple of
``TILE_MULTIPLE_PX``) that still covers the axis with as many tiles, so the last tile does
not overlap its neighbour by most of its length (a 4096 px axis in 1024 px tiles: five of
896 px instead of five of 1024, 1.14x fewer cells computed per axis). Tiles start every
``tile - overlap_px`` pixels and the last one is pulled back to end on the raster edge; an
axis shorter than a tile gets one tile as long as the axis.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from forestgaps_engine.geo.tiles import Tile, tile_offsets

# Fitted tiles are whole multiples of this: every architecture's output stride divides
# it, so the model pads nothing (an input off the stride is padded to it inside the
# model, cells computed for nothing).
TILE_MULTIPLE_PX = 32


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
    # An axis shorter than a tile gets one tile from 0 (the caller fits it to the axis).
    return tile_offsets(length_px, tile_size_px, tile_size_px - overlap_px) or [0]


def fitted_axis(length_px: int, tile_size_px: int, overlap_px: int) -> tuple[int, list[int]]:
    """(tile length, tile starts) along an axis of ``length_px``, the tile fitted.

    The tile is at most ``tile_size_px`` and as short as the number of ``tile_size_px``
    tiles the axis needs allows: a multiple of ``TILE_MULTIPLE_PX`` (or ``tile_size_px``
    itself) above ``2 * overlap_px``. An axis that one tile covers gets one tile as long
    as the axis.
    """
    starts = axis_starts(length_px, tile_size_px, overlap_px)
    n_tiles = len(starts)
    if n_tiles == 1:
        return min(tile_size_px, length_px), starts
    # n tiles of length L overlapping by overlap_px cover n * L - (n - 1) * overlap_px.
    needed_px = -(-(length_px + (n_tiles - 1) * overlap_px) // n_tiles)
    rounded_px = -(-needed_px // TILE_MULTIPLE_PX) * TILE_MULTIPLE_PX
    tile_px = min(tile_size_px, max(rounded_px, 2 * overlap_px + 1))
    return tile_px, axis_starts(length_px, tile_px, overlap_px)


def tile_rows(
    height_px: int, width_px: int, tile_size_px: int, overlap_px: int
) -> list[list[Tile]]:
    """Tiles covering a ``height_px`` x ``width_px`` raster, grouped by tile row (strip).

    Each axis's tile is fitted (``fitted_axis``): tiles are at most ``tile_size_px`` on a
    side and need not be square.

    Returns:
        One list per tile row, top to bottom; within a row, tiles left to right.
    """
    tile_h, row_starts = fitted_axis(height_px, tile_size_px, overlap_px)
    tile_w, col_starts = fitted_axis(width_px, tile_size_px, overlap_px)
    return [[Tile(row, col, tile_h, tile_w) for col in col_starts] for row in row_starts]


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

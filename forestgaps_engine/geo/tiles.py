"""Tiles: frozen windows over a raster, the grid that covers it, valid fractions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from affine import Affine


@dataclass(frozen=True)
class Tile:
    """A window of a raster, in pixels.

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
        if self.row_off < 0 or self.col_off < 0:
            raise ValueError(f"tile offsets must be >= 0, got ({self.row_off}, {self.col_off})")
        if self.height_px <= 0 or self.width_px <= 0:
            raise ValueError(f"tile size must be > 0, got ({self.height_px}, {self.width_px})")

    @property
    def row_end(self) -> int:
        """One past the last row."""
        return self.row_off + self.height_px

    @property
    def col_end(self) -> int:
        """One past the last column."""
        return self.col_off + self.width_px

    def slices(self, row_origin: int = 0, col_origin: int = 0) -> tuple[slice, slice]:
        """(rows, columns) numpy index of this tile in an array whose first cell is the origin.

        The origin is (0, 0) for a whole raster, or the first row (and column) of the strip
        or window that prediction holds.
        """
        return (
            slice(self.row_off - row_origin, self.row_end - row_origin),
            slice(self.col_off - col_origin, self.col_end - col_origin),
        )

    def as_dict(self) -> dict[str, int]:
        """JSON-friendly form (used in shard metadata and tiles.jsonl)."""
        return dataclasses.asdict(self)


def tile_offsets(length_px: int, tile_size_px: int, stride_px: int) -> list[int]:
    """Start offsets along one axis; the last tile is aligned to the edge.

    Returns an empty list when the axis is shorter than one tile: a model is trained on
    full tiles only.
    """
    if stride_px <= 0:
        raise ValueError(f"stride must be > 0 px, got {stride_px}")
    if length_px < tile_size_px:
        return []
    offsets = list(range(0, length_px - tile_size_px + 1, stride_px))
    if offsets[-1] + tile_size_px < length_px:
        offsets.append(length_px - tile_size_px)
    return offsets


def tile_grid(height_px: int, width_px: int, tile_size_px: int, overlap_px: int) -> list[Tile]:
    """Square tiles covering a (height_px, width_px) raster, in row-major order.

    Neighbours share ``overlap_px`` pixels; the last row and column of tiles are shifted to
    end exactly at the raster edge (so they may overlap their neighbour more).

    Raises:
        ValueError: ``overlap_px`` is not in [0, tile_size_px).
    """
    if not 0 <= overlap_px < tile_size_px:
        raise ValueError(f"overlap_px must be in [0, {tile_size_px}), got {overlap_px}")
    stride_px = tile_size_px - overlap_px
    rows = tile_offsets(height_px, tile_size_px, stride_px)
    cols = tile_offsets(width_px, tile_size_px, stride_px)
    return [Tile(r, c, tile_size_px, tile_size_px) for r in rows for c in cols]


def valid_fraction(valid: np.ndarray, tile: Tile) -> float:
    """Share of valid cells of ``valid`` (H, W) bool inside ``tile``."""
    return float(valid[tile.slices()].mean())


def tile_transform(transform: Affine, tile: Tile) -> Affine:
    """Pixel-to-CRS transform of the tile's own (0, 0) corner."""
    return transform * Affine.translation(tile.col_off, tile.row_off)

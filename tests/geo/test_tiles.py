import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.geo.tiles import (
    Tile,
    tile_grid,
    tile_offsets,
    tile_transform,
)


@pytest.mark.parametrize(
    ("height_px", "width_px", "tile_px", "overlap_px"),
    [(100, 70, 32, 0), (64, 64, 32, 8), (257, 300, 64, 16), (32, 33, 32, 0)],
)
def test_tiles_cover_every_pixel_and_stay_inside(height_px, width_px, tile_px, overlap_px):
    tiles = tile_grid(height_px, width_px, tile_px, overlap_px)
    covered = np.zeros((height_px, width_px), dtype=int)
    for tile in tiles:
        assert tile.row_end <= height_px and tile.col_end <= width_px
        assert (tile.height_px, tile.width_px) == (tile_px, tile_px)
        covered[tile.slices()] += 1
    assert covered.min() >= 1


def test_last_tiles_align_to_edge_and_overlap_is_respected():
    assert tile_offsets(100, 32, 24) == [0, 24, 48, 68]
    tiles = tile_grid(64, 64, 32, 8)
    rows = sorted({t.row_off for t in tiles})
    assert rows == [0, 24, 32]
    # Regular neighbours share exactly overlap_px rows.
    assert Tile(0, 0, 32, 32).row_end - 24 == 8


def test_raster_smaller_than_a_tile_gives_no_tile():
    assert tile_grid(20, 100, 32, 0) == []


def test_bad_overlap_and_bad_tile_raise():
    with pytest.raises(ValueError):
        tile_grid(64, 64, 32, 32)
    with pytest.raises(ValueError):
        Tile(-1, 0, 4, 4)


def test_tile_transform_moves_origin():
    transform = Affine(0.5, 0, 1000.0, 0, -0.5, 2000.0)
    moved = tile_transform(transform, Tile(10, 20, 8, 8))
    assert (moved.c, moved.f) == (1010.0, 1995.0)

"""Windows cover any raster with same-shape tiles; blending weights stitch without seams."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.inference.blending import RowBandAccumulator, TileWeights, axis_weights
from forestgaps_engine.inference.windows import (
    Tile,
    axis_starts,
    batches,
    computed_pixel_ratio,
    tile_rows,
)


@pytest.mark.parametrize("length", [1, 31, 64, 65, 100, 127, 128, 129, 1000])
def test_axis_starts_cover_the_axis_with_the_overlap(length):
    starts = axis_starts(length, 64, 16)
    size = min(64, length)
    assert starts[0] == 0
    assert starts[-1] + size == length
    for previous, current in zip(starts, starts[1:], strict=False):
        assert previous + size - current >= 16  # at least the overlap
        assert current > previous


def test_tiles_share_one_shape_and_rows_group_them():
    rows = tile_rows(150, 70, 64, 8)
    shapes = {(t.height_px, t.width_px) for row in rows for t in row}
    assert shapes == {(64, 64)}
    assert all(len({t.row_off for t in row}) == 1 for row in rows)
    covered = np.zeros((150, 70), dtype=int)
    for row in rows:
        for tile in row:
            covered[tile.slices()] += 1
    assert covered.min() >= 1


def test_small_raster_gets_one_tile_of_its_own_size():
    assert tile_rows(20, 30, 64, 8) == [[Tile(0, 0, 20, 30)]]


def test_invalid_tiles_and_overlaps_are_rejected():
    with pytest.raises(ValueError):
        Tile(-1, 0, 4, 4)
    with pytest.raises(ValueError):
        axis_starts(100, 64, 32)
    with pytest.raises(ValueError):
        list(batches([], 0))


def test_batches_and_overlap_ratio():
    tiles = [Tile(0, i, 4, 4) for i in range(5)]
    assert [len(b) for b in batches(tiles, 2)] == [2, 2, 1]
    assert computed_pixel_ratio(64, 64, 64, 8) == 1.0
    assert computed_pixel_ratio(120, 120, 64, 8) > 1.0


@pytest.mark.parametrize("kind", ["hann", "linear"])
def test_complementary_ramps_sum_to_one(kind):
    left = axis_weights(0, 64, 0, 16, kind)
    right = axis_weights(48, 64, 16, 0, kind)
    assert np.allclose(left[48:] + right[:16], 1.0)
    assert left[0] == 1.0 and right[-1] == 1.0  # raster borders keep full weight
    assert left.min() > 0 and right.min() > 0


@pytest.mark.parametrize("kind", ["hann", "linear", "none"])
def test_weights_never_zero_inside_the_raster(kind):
    rows = tile_rows(200, 150, 64, 16)
    weights = TileWeights(axis_starts(200, 64, 16), axis_starts(150, 64, 16), 64, 64, kind)
    total = np.zeros((200, 150))
    for row in rows:
        for tile in row:
            total[tile.slices()] += weights.of(tile)
    assert total.min() > 1e-3


def test_accumulator_keeps_constants_constant_and_pops_rows():
    rows = tile_rows(100, 90, 32, 8)
    weights = TileWeights(axis_starts(100, 32, 8), axis_starts(90, 32, 8), 32, 32, "hann")
    accumulator = RowBandAccumulator(2, 90)
    out = np.full((2, 100, 90), np.nan, dtype=np.float32)
    for index, row in enumerate(rows):
        for tile in row:
            values = np.stack([np.full((32, 32), 0.25), np.full((32, 32), 0.75)])
            accumulator.add(tile, values, weights.of(tile))
        end = rows[index + 1][0].row_off if index + 1 < len(rows) else 100
        first, blended = accumulator.pop_until(end)
        out[:, first : first + blended.shape[1]] = blended
        assert accumulator.row_end - accumulator.row_start <= 32
    assert np.allclose(out[0], 0.25, atol=1e-6) and np.allclose(out[1], 0.75, atol=1e-6)

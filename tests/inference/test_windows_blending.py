"""Windows cover any raster with same-shape tiles; blending weights stitch without seams."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.inference.blending import TileRowBlender, TileWeights, axis_weights
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
    left = axis_weights(64, 0, 16, kind)
    right = axis_weights(64, 16, 0, kind)
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


def _rows_and_hann_weights(height: int, width: int, tile: int, overlap: int):
    """The tile rows of a raster and their Hann blending weights."""
    rows = tile_rows(height, width, tile, overlap)
    weights = TileWeights(
        axis_starts(height, tile, overlap),
        axis_starts(width, tile, overlap),
        rows[0][0].height_px,
        rows[0][0].width_px,
        "hann",
    )
    return rows, weights


def _blend_in_chunks(
    height: int, width: int, tile: int, overlap: int, tiles_per_chunk: int, block: int
) -> tuple[np.ndarray, int]:
    """Blend position-dependent predictions with TileRowBlender, chunk by chunk."""
    rows, weights = _rows_and_hann_weights(height, width, tile, overlap)
    blender = TileRowBlender(2, width)
    out = np.full((2, height, width), -7.0, dtype=np.float32)
    most_carried = 0
    for index, row in enumerate(rows):
        finished_row = rows[index + 1][0].row_off if index + 1 < len(rows) else height
        blender.start_row(row[0].row_off, row[0].row_end, finished_row)
        chunks = [row[i : i + tiles_per_chunk] for i in range(0, len(row), tiles_per_chunk)]
        for position, chunk in enumerate(chunks):
            blender.start_chunk(chunk[-1].col_end)
            for item in chunk:
                rng = np.random.default_rng(item.row_off * 10_000 + item.col_off)
                values = rng.random((2, item.height_px, item.width_px), dtype=np.float32)
                blender.add(item, values, weights.of(item))
            last = position + 1 == len(chunks)
            finished_col = width if last else chunks[position + 1][0].col_off // block * block
            first_col, blended = blender.finish_chunk(finished_col)
            assert first_col + blended.shape[2] == finished_col
            out[:, row[0].row_off : finished_row, first_col:finished_col] = blended
        blender.finish_row()
        most_carried = max(most_carried, blender.carried_rows)
    return out, most_carried


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap"),
    [(100, 90, 32, 8), (64 + 48 * 3 + 1, 64 + 48 * 4 + 1, 64, 16), (40, 300, 64, 0)],
)
def test_chunked_blending_is_bitwise_the_full_width_sum(height, width, tile, overlap):
    """Any chunking gives the bits of one full-raster sum in tile order."""
    rows, weights = _rows_and_hann_weights(height, width, tile, overlap)
    sums = np.zeros((2, height, width), dtype=np.float32)
    total = np.zeros((height, width), dtype=np.float32)
    for row in rows:
        for item in row:
            rng = np.random.default_rng(item.row_off * 10_000 + item.col_off)
            values = rng.random((2, item.height_px, item.width_px), dtype=np.float32)
            sums[:, item.slices()[0], item.slices()[1]] += values * weights.of(item)
            total[item.slices()] += weights.of(item)
    expected = sums / total
    for tiles_per_chunk, block in [(1, 1), (2, 16), (3, 64), (1000, 1)]:
        blended, most_carried = _blend_in_chunks(
            height, width, tile, overlap, tiles_per_chunk, block
        )
        np.testing.assert_array_equal(blended.view(np.uint32), expected.view(np.uint32))
        assert most_carried <= tile - 1


def test_blender_carries_only_the_overlap_rows_and_keeps_constants():
    rows = tile_rows(200, 90, 32, 8)
    weights = TileWeights(axis_starts(200, 32, 8), axis_starts(90, 32, 8), 32, 32, "hann")
    blender = TileRowBlender(2, 90)
    out = np.full((2, 200, 90), np.nan, dtype=np.float32)
    for index, row in enumerate(rows):
        finished_row = rows[index + 1][0].row_off if index + 1 < len(rows) else 200
        blender.start_row(row[0].row_off, row[0].row_end, finished_row)
        for position, item in enumerate(row):
            blender.start_chunk(item.col_end)
            values = np.stack([np.full((32, 32), 0.25), np.full((32, 32), 0.75)])
            blender.add(item, values, weights.of(item))
            finished_col = row[position + 1].col_off if position + 1 < len(row) else 90
            first_col, blended = blender.finish_chunk(finished_col)
            out[:, row[0].row_off : finished_row, first_col:finished_col] = blended
        blender.finish_row()
        if index + 1 < len(rows):
            assert blender.carried_rows == row[0].row_end - finished_row
    assert np.allclose(out[0], 0.25, atol=1e-6) and np.allclose(out[1], 0.75, atol=1e-6)


def test_blender_refuses_tiles_outside_the_chunk_and_rows_left_unfinished():
    blender = TileRowBlender(1, 100)
    blender.start_row(0, 32, 24)
    blender.start_chunk(32)
    with pytest.raises(ValueError, match="outside"):
        blender.add(Tile(0, 30, 32, 32), np.ones((1, 32, 32)), np.ones((32, 32)))
    blender.finish_chunk(16)
    with pytest.raises(ValueError, match="handed out"):
        blender.finish_row()


@pytest.mark.parametrize(
    ("length_px", "tile_px", "overlap_px"),
    [(4096, 1024, 64), (3000, 512, 64), (513, 512, 64), (5000, 1024, 128), (300, 512, 64)],
)
def test_fitted_tiles_cover_the_axis_with_no_more_tiles_and_no_longer(
    length_px: int, tile_px: int, overlap_px: int
) -> None:
    from forestgaps_engine.inference.windows import axis_starts, fitted_axis

    fitted_px, starts = fitted_axis(length_px, tile_px, overlap_px)
    assert fitted_px <= tile_px
    assert len(starts) == len(axis_starts(length_px, tile_px, overlap_px))
    assert starts[0] == 0 and starts[-1] + fitted_px == length_px
    assert all(b - a <= fitted_px - overlap_px for a, b in zip(starts[:-1], starts[1:], strict=True))


def test_a_4096_px_axis_in_1024_px_tiles_computes_fewer_cells() -> None:
    from forestgaps_engine.inference.windows import computed_pixel_ratio, fitted_axis

    assert fitted_axis(4096, 1024, 64)[0] == 896
    assert computed_pixel_ratio(4096, 4096, 1024, 64) == pytest.approx((5 * 896 / 4096) ** 2)


def test_an_axis_shorter_than_twice_the_overlap_gets_one_tile() -> None:
    from forestgaps_engine.inference.windows import fitted_axis

    assert fitted_axis(96, 512, 64) == (96, [0])

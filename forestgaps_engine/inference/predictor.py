"""Streaming tiled prediction: one strip of tile rows in memory, every threshold per batch.

Each tile row is walked in chunks of columns (about ``COLUMN_CHUNK_PX`` wide, whole
batches of tiles): the DSM window a chunk covers is read once; each window is normalized
once, then stacked T times with the T thresholds so one model call carries every threshold
of its windows. Blended cells are written as soon as no later tile can touch them, so the
arrays depend on the tile and chunk sizes, never on the raster height; only the few rows
shared by two tile rows span the raster width.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.data.fill import fill_nodata_nearest
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.backends import Backend
from forestgaps_engine.inference.blending import TileRowBlender, TileWeights
from forestgaps_engine.inference.cut import cut_cells
from forestgaps_engine.inference.windows import Tile, axis_starts, batches, tile_rows
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)

# Width of the column chunks a tile row is predicted in (rounded down to whole batches of
# tiles, one batch at least): a chunk's DSM window, blending sums and blended cells take
# a few MB at 2048 px whatever the raster width (a full-width 16384 px tile row held
# about 100 MB at one threshold).
COLUMN_CHUNK_PX = 2048


@dataclass
class StreamStats:
    """What one streaming pass did and where its time went (seconds)."""

    n_tiles: int = 0
    n_model_calls: int = 0
    n_valid_px: int = 0
    pixels_computed: int = 0
    timings_s: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "normalize": 0.0, "model": 0.0, "blend_write": 0.0}
    )


def read_window(
    source: Any, row_off: int, height_px: int, col_off: int = 0, width_px: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A window of a rasterio dataset as (values float32 NaN at nodata, valid bool).

    ``width_px`` None reads to the last column.
    """
    from rasterio.windows import Window

    if width_px is None:
        width_px = source.width - col_off
    masked = source.read(1, window=Window(col_off, row_off, width_px, height_px), masked=True)
    # Filled in place: a float32 band is not copied (masked.filled would copy it).
    values = np.asarray(masked.data, dtype=np.float32)
    invalid = np.ma.getmaskarray(masked)
    values[invalid] = np.nan
    valid = np.isfinite(values)
    valid &= ~invalid
    return values, valid


def read_strip(source: Any, row_off: int, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-width rows of a rasterio dataset as (values float32 NaN at nodata, valid bool)."""
    return read_window(source, row_off, height_px)


def _window_slices(tile: Tile, row_origin: int, col_origin: int) -> tuple[slice, slice]:
    """(rows, columns) index of ``tile`` in an array whose first cell is (row, col) origin."""
    return (
        slice(tile.row_off - row_origin, tile.row_end - row_origin),
        slice(tile.col_off - col_origin, tile.col_end - col_origin),
    )


def _predict_batch(
    tiles: list[Tile],
    strip_values: np.ndarray,
    strip_valid: np.ndarray,
    row_origin: int,
    col_origin: int,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats,
) -> np.ndarray:
    """(len(tiles), T, h, w) probabilities of the tiles' windows of a strip."""
    windows = [_window_slices(tile, row_origin, col_origin) for tile in tiles]
    values = np.stack([strip_values[rows, cols] for rows, cols in windows])[:, None]
    valid = np.stack([strip_valid[rows, cols] for rows, cols in windows])[:, None]
    return predict_windows(values, valid, thresholds_m, normalizer, backend, stats)


def predict_windows(
    values: np.ndarray,
    valid: np.ndarray,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats | None = None,
) -> np.ndarray:
    """Gap probabilities of N windows under T thresholds, in one backend call.

    Args:
        values: (N, 1, h, w) float32 heights in metres (any value where not ``valid``).
        valid: (N, 1, h, w) bool.
        thresholds_m: (T,) thresholds in metres.
        normalizer: (raw metres, valid) -> model input.
        backend: runs the model.
        stats: timings and pixel counts to add to (None: not counted).

    Returns:
        (N, T, h, w) float32 probabilities (defined at invalid cells too: mask them).
    """
    stats = stats if stats is not None else StreamStats()
    thresholds_m = np.asarray(thresholds_m, dtype=np.float32)
    n_thresholds = len(thresholds_m)
    n_windows = values.shape[0]
    started = time.perf_counter()
    # Window-major: rows k*T .. k*T+T-1 of the batch are window k under each threshold.
    # A backend that shares windows takes each window once for its T thresholds (a model
    # with a threshold-free trunk then runs that trunk once); others get T copies.
    repeats = 1 if getattr(backend, "shares_windows", False) else n_thresholds
    # Nodata is filled for the model only; the outputs keep it (``strip_valid``).
    values, valid = fill_nodata_nearest(values, valid)
    model_valid = None
    if getattr(backend, "takes_raw_heights", False):
        model_input = np.repeat(values, repeats, axis=0)
        model_valid = np.repeat(valid, repeats, axis=0)
    else:
        model_input = np.repeat(normalizer(values, valid), repeats, axis=0)
    model_thresholds = np.tile(thresholds_m, n_windows).astype(np.float32)
    stats.timings_s["normalize"] += time.perf_counter() - started
    started = time.perf_counter()
    if model_valid is None:
        probabilities = backend.run(model_input, model_thresholds)
    else:
        probabilities = backend.run(model_input, model_thresholds, model_valid)
    stats.timings_s["model"] += time.perf_counter() - started
    stats.n_model_calls += 1
    # Pixels the model produced (window x threshold), shared windows or not.
    n_rows, _channels, rows_px, cols_px = probabilities.shape
    stats.pixels_computed += int(n_rows * rows_px * cols_px)
    height_px, width_px = probabilities.shape[-2:]
    return probabilities.reshape(n_windows, n_thresholds, height_px, width_px)


def _block_width(writer: Any) -> int:
    """Block width of a rasterio dataset; 1 (any column) for a writer without blocks."""
    shapes = getattr(writer, "block_shapes", None)
    return max(1, int(shapes[0][1])) if shapes else 1


def stream_probabilities(
    source: Any,
    grid: Grid,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    config: InferenceConfig,
    writers: list[Any],
    nodata: float,
    reporter: Reporter,
    cut_writers: list[Any] | None = None,
    cutoff: float = 0.5,
) -> StreamStats:
    """Predict gap probabilities over ``source`` and write them row band by row band.

    Args:
        source: open rasterio dataset (or WarpedVRT) whose cells are ``grid``.
        grid: the grid predicted on (the writers' grid too).
        thresholds_m: (T,) thresholds in metres.
        normalizer: (raw metres, valid) -> model input, e.g. ``NumpyNormalizer``.
        backend: runs the model.
        config: tile size, overlap, batch size, blend.
        writers: T rasterio datasets open for writing on ``grid``, one per threshold.
        nodata: value written where the DSM is nodata.
        reporter: progress and cancel (checked after every batch).
        cut_writers: T uint8 rasters on ``grid`` that receive the cut of each threshold's
            probabilities (``inference.cut.cut_cells`` at ``cutoff``) as they are written;
            None writes none.
        cutoff: probability cut-off of ``cut_writers``.

    Returns:
        Counts and timings of the pass.
    """
    from rasterio.windows import Window

    thresholds_m = np.asarray(thresholds_m, dtype=np.float32)
    height_px, width_px = grid.shape
    rows = tile_rows(height_px, width_px, config.tile_size_px, config.overlap_px)
    tile_h, tile_w = rows[0][0].height_px, rows[0][0].width_px
    weights = TileWeights(
        axis_starts(height_px, config.tile_size_px, config.overlap_px),
        axis_starts(width_px, config.tile_size_px, config.overlap_px),
        tile_h,
        tile_w,
        config.blend,
    )
    # batch_size counts model inputs; a window never gets split across calls. Chunks hold
    # whole batches, so every model call gets the same windows as without chunks.
    windows_per_batch = max(1, config.batch_size // len(thresholds_m))
    batches_per_chunk = max(1, COLUMN_CHUNK_PX // (windows_per_batch * tile_w))
    tiles_per_chunk = windows_per_batch * batches_per_chunk
    # Cells are handed out on the outputs' block columns: each block then sees the same
    # writes as with full-width rows (GDAL fills the padding of edge blocks differently
    # when a block's first write covers it only in part).
    block_w = min((_block_width(writer) for writer in writers), default=1)
    blender = TileRowBlender(len(thresholds_m), width_px)
    stats = StreamStats()
    n_tiles_total = sum(len(row) for row in rows)
    for row_index, row in enumerate(rows):
        row_off = row[0].row_off
        finished_row = rows[row_index + 1][0].row_off if row_index + 1 < len(rows) else height_px
        blender.start_row(row_off, row_off + tile_h, finished_row)
        chunks = [
            row[start : start + tiles_per_chunk] for start in range(0, len(row), tiles_per_chunk)
        ]
        for chunk_index, chunk in enumerate(chunks):
            col_end = chunk[-1].col_end
            if chunk_index + 1 < len(chunks):
                finished_col = chunks[chunk_index + 1][0].col_off // block_w * block_w
            else:
                finished_col = width_px
            started = time.perf_counter()
            # From the first column still held (left of this chunk's first tile when the
            # previous chunk stopped on a block edge): the blended cells need its validity.
            col_off = blender.held_col
            strip_values, strip_valid = read_window(
                source, row_off, tile_h, col_off, col_end - col_off
            )
            stats.timings_s["read"] += time.perf_counter() - started
            blender.start_chunk(col_end)
            for batch in batches(chunk, windows_per_batch):
                stats.n_tiles += len(batch)
                live = [
                    tile
                    for tile in batch
                    if strip_valid[_window_slices(tile, row_off, col_off)].any()
                ]
                if live:
                    probabilities = _predict_batch(
                        live,
                        strip_values,
                        strip_valid,
                        row_off,
                        col_off,
                        thresholds_m,
                        normalizer,
                        backend,
                        stats,
                    )
                    started = time.perf_counter()
                    for tile, tile_probabilities in zip(live, probabilities, strict=True):
                        blender.add(tile, tile_probabilities, weights.of(tile))
                    stats.timings_s["blend_write"] += time.perf_counter() - started
                reporter.report(
                    stats.n_tiles / n_tiles_total,
                    f"predicting: tile row {row_index + 1}/{len(rows)}",
                )
            started = time.perf_counter()
            first_col, blended = blender.finish_chunk(finished_col)
            n_rows, n_cols = blended.shape[1:]
            valid_cells = strip_valid[:n_rows, first_col - col_off : first_col - col_off + n_cols]
            stats.n_valid_px += int(np.count_nonzero(valid_cells))
            if n_cols:
                window = Window(first_col, row_off, n_cols, n_rows)
                for index, (writer, values) in enumerate(zip(writers, blended, strict=True)):
                    # In place: the cells of np.where(keep, clip(values), nodata), no copies.
                    keep = np.isfinite(values)
                    keep &= valid_cells
                    np.clip(values, 0.0, 1.0, out=values)
                    values[~keep] = nodata
                    writer.write(values, 1, window=window)
                    if cut_writers is not None:
                        cut = cut_cells(values, keep, cutoff)
                        cut_writers[index].write(cut, 1, window=window)
            stats.timings_s["blend_write"] += time.perf_counter() - started
        blender.finish_row()
    return stats

"""Streaming tiled prediction: one strip of tile rows in memory, every threshold per batch.

For each tile row the strip of DSM rows it covers is read once; each window is normalized
once, then stacked T times with the T thresholds so one model call carries every threshold
of its windows. Blended rows are written as soon as no later tile can touch them, so memory
depends on the tile size and the raster width, never on the raster height.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.backends import Backend
from forestgaps_engine.inference.blending import RowBandAccumulator, TileWeights
from forestgaps_engine.inference.windows import Tile, axis_starts, batches, tile_rows
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)


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


def read_strip(source: Any, row_off: int, height_px: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-width rows of a rasterio dataset as (values float32 NaN at nodata, valid bool)."""
    from rasterio.windows import Window

    masked = source.read(1, window=Window(0, row_off, source.width, height_px), masked=True)
    values = np.asarray(masked.filled(np.nan), dtype=np.float32)
    valid = ~np.ma.getmaskarray(masked) & np.isfinite(values)
    return values, valid


def _predict_batch(
    tiles: list[Tile],
    strip_values: np.ndarray,
    strip_valid: np.ndarray,
    row_origin: int,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats,
) -> np.ndarray:
    """(len(tiles), T, h, w) probabilities: each window normalized once, all T thresholds."""
    n_thresholds = len(thresholds_m)
    windows = [tile.slices(row_origin) for tile in tiles]
    started = time.perf_counter()
    values = np.stack([strip_values[rows, cols] for rows, cols in windows])[:, None]
    valid = np.stack([strip_valid[rows, cols] for rows, cols in windows])[:, None]
    # Window-major: rows k*T .. k*T+T-1 of the batch are window k under each threshold.
    model_valid = None
    if getattr(backend, "takes_raw_heights", False):
        model_input = np.repeat(values, n_thresholds, axis=0)
        model_valid = np.repeat(valid, n_thresholds, axis=0)
    else:
        model_input = np.repeat(normalizer(values, valid), n_thresholds, axis=0)
    model_thresholds = np.tile(thresholds_m, len(tiles)).astype(np.float32)
    stats.timings_s["normalize"] += time.perf_counter() - started
    started = time.perf_counter()
    if model_valid is None:
        probabilities = backend.run(model_input, model_thresholds)
    else:
        probabilities = backend.run(model_input, model_thresholds, model_valid)
    stats.timings_s["model"] += time.perf_counter() - started
    stats.n_model_calls += 1
    stats.pixels_computed += int(model_input.shape[0] * model_input.shape[2] * model_input.shape[3])
    height_px, width_px = probabilities.shape[-2:]
    return probabilities.reshape(len(tiles), n_thresholds, height_px, width_px)


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
    # batch_size counts model inputs; a window never gets split across calls.
    windows_per_batch = max(1, config.batch_size // len(thresholds_m))
    accumulator = RowBandAccumulator(len(thresholds_m), width_px)
    stats = StreamStats()
    n_tiles_total = sum(len(row) for row in rows)
    for row_index, row in enumerate(rows):
        row_off = row[0].row_off
        started = time.perf_counter()
        strip_values, strip_valid = read_strip(source, row_off, tile_h)
        stats.timings_s["read"] += time.perf_counter() - started
        for batch in batches(row, windows_per_batch):
            stats.n_tiles += len(batch)
            live = [tile for tile in batch if strip_valid[tile.slices(row_off)].any()]
            if live:
                probabilities = _predict_batch(
                    live,
                    strip_values,
                    strip_valid,
                    row_off,
                    thresholds_m,
                    normalizer,
                    backend,
                    stats,
                )
                started = time.perf_counter()
                for tile, tile_probabilities in zip(live, probabilities, strict=True):
                    accumulator.add(tile, tile_probabilities, weights.of(tile))
                stats.timings_s["blend_write"] += time.perf_counter() - started
            reporter.report(
                stats.n_tiles / n_tiles_total,
                f"predicting: tile row {row_index + 1}/{len(rows)}",
            )
        started = time.perf_counter()
        finished_until = rows[row_index + 1][0].row_off if row_index + 1 < len(rows) else height_px
        first_row, blended = accumulator.pop_until(finished_until)
        n_rows = blended.shape[1]
        valid_rows = strip_valid[first_row - row_off : first_row - row_off + n_rows]
        stats.n_valid_px += int(valid_rows.sum())
        window = Window(0, first_row, width_px, n_rows)
        for writer, values in zip(writers, blended, strict=True):
            keep = valid_rows & np.isfinite(values)
            writer.write(
                np.where(keep, np.clip(values, 0.0, 1.0), nodata).astype(np.float32),
                1,
                window=window,
            )
        stats.timings_s["blend_write"] += time.perf_counter() - started
    return stats

"""Streaming tiled prediction: one strip of tile rows in memory, every threshold per batch.

Each tile row is walked in chunks of columns (about ``COLUMN_CHUNK_PX`` wide, whole
batches of tiles): the DSM window a chunk covers is read once; each window is normalized
once, then stacked T times with the T thresholds so one model call carries every threshold
of its windows. Blended cells are written as soon as no later tile can touch them, so the
arrays depend on the tile and chunk sizes, never on the raster height; only the few rows
shared by two tile rows span the raster width. The backend may run on a worker thread one
batch ahead of this reading and writing (``InferenceConfig.model_thread``), with the same
calls and the same sums in the same order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.data.fill import fill_nodata_nearest
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import read_valid_values
from forestgaps_engine.inference.backends import Backend
from forestgaps_engine.inference.blending import TileRowBlender, TileWeights
from forestgaps_engine.inference.cut import mask_cells
from forestgaps_engine.inference.terrain_prior import filled_prior
from forestgaps_engine.inference.windows import Tile, batches, tile_rows
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
    return read_valid_values(source, Window(col_off, row_off, width_px, height_px))


def _batch_windows(
    tiles: list[Tile],
    strip_values: np.ndarray,
    strip_valid: np.ndarray,
    row_origin: int,
    col_origin: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(len(tiles), 1, h, w) values and validity of the tiles' windows of a strip."""
    windows = [tile.slices(row_origin, col_origin) for tile in tiles]
    values = np.stack([strip_values[rows, cols] for rows, cols in windows])[:, None]
    valid = np.stack([strip_valid[rows, cols] for rows, cols in windows])[:, None]
    return values, valid


@dataclass
class ModelCall:
    """The inputs of one backend call: N windows, each under T thresholds."""

    n_windows: int
    n_thresholds: int
    inputs: tuple[np.ndarray, ...]


def prepare_model_call(
    values: np.ndarray,
    valid: np.ndarray,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats,
    prior_m: np.ndarray | None = None,
) -> ModelCall:
    """Fill nodata, normalize and lay out N windows x T thresholds for ``backend.run``.

    ``prior_m`` (N, 1, h, w) metres, finite: the terrain prior on the same cells, stacked
    after the DSM in the DSM's frame (``NumpyNormalizer.with_prior``).
    """
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
    model_thresholds = np.tile(thresholds_m, n_windows).astype(np.float32)
    if getattr(backend, "takes_raw_heights", False):
        inputs: tuple[np.ndarray, ...] = (
            np.repeat(values, repeats, axis=0),
            model_thresholds,
            np.repeat(valid, repeats, axis=0),
        )
    elif prior_m is not None:
        stacked = normalizer.with_prior(values, valid, prior_m)  # type: ignore[attr-defined]
        inputs = (np.repeat(stacked, repeats, axis=0), model_thresholds)
    else:
        inputs = (np.repeat(normalizer(values, valid), repeats, axis=0), model_thresholds)
    stats.timings_s["normalize"] += time.perf_counter() - started
    return ModelCall(n_windows, n_thresholds, inputs)


def run_model_call(backend: Backend, call: ModelCall) -> tuple[np.ndarray, float]:
    """((N, T, h, w) float32 probabilities, seconds the backend took) of one call.

    Touches no shared state, so it may run on a worker thread while the caller reads,
    normalizes and blends other batches.
    """
    started = time.perf_counter()
    probabilities = backend.run(*call.inputs)
    elapsed_s = time.perf_counter() - started
    height_px, width_px = probabilities.shape[-2:]
    shape = (call.n_windows, call.n_thresholds, height_px, width_px)
    return probabilities.reshape(shape), elapsed_s


def _count_model_call(stats: StreamStats, probabilities: np.ndarray, elapsed_s: float) -> None:
    stats.timings_s["model"] += elapsed_s
    stats.n_model_calls += 1
    # Pixels the model produced (window x threshold), shared windows or not.
    stats.pixels_computed += int(probabilities.size)


def predict_windows(
    values: np.ndarray,
    valid: np.ndarray,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats | None = None,
    prior_m: np.ndarray | None = None,
) -> np.ndarray:
    """Gap probabilities of N windows under T thresholds, in one backend call.

    Args:
        values: (N, 1, h, w) float32 heights in metres (any value where not ``valid``).
        valid: (N, 1, h, w) bool.
        thresholds_m: (T,) thresholds in metres.
        normalizer: (raw metres, valid) -> model input.
        backend: runs the model.
        stats: timings and pixel counts to add to (None: not counted).
        prior_m: (N, 1, h, w) terrain prior in metres, finite, for a model that takes one.

    Returns:
        (N, T, h, w) float32 probabilities (defined at invalid cells too: mask them).
    """
    stats = stats if stats is not None else StreamStats()
    call = prepare_model_call(values, valid, thresholds_m, normalizer, backend, stats, prior_m)
    probabilities, elapsed_s = run_model_call(backend, call)
    _count_model_call(stats, probabilities, elapsed_s)
    return probabilities


def _block_width(writer: Any) -> int:
    """Block width of a rasterio dataset; 1 (any column) for a writer without blocks."""
    shapes = getattr(writer, "block_shapes", None)
    return max(1, int(shapes[0][1])) if shapes else 1


@dataclass(frozen=True)
class ColumnChunk:
    """One chunk of a tile row: whole batches of tiles and the DSM window they read.

    Attributes:
        row_index: tile row, top to bottom.
        row_off: the tile row's first raster row.
        finished_row: rows above it are finished once the tile row is done.
        col_off: first column read (the first column the blender still holds then).
        col_end: one past the chunk's last tile.
        finished_col: cells left of it are handed out after the chunk.
        batches: the chunk's tiles, one list per model call.
        first_in_row, last_in_row: where the chunk lies in its tile row.
    """

    row_index: int
    row_off: int
    finished_row: int
    col_off: int
    col_end: int
    finished_col: int
    batches: tuple[tuple[Tile, ...], ...]
    first_in_row: bool
    last_in_row: bool


def column_chunks(
    rows: list[list[Tile]],
    height_px: int,
    width_px: int,
    windows_per_batch: int,
    tiles_per_chunk: int,
    block_w: int,
) -> list[ColumnChunk]:
    """Every chunk of every tile row, in streaming order, with what it reads and finishes.

    Known in advance, so a chunk can be read while the model still works on the previous
    one: its first column is where the previous chunk of its row stopped handing out.
    """
    plan = []
    for row_index, row in enumerate(rows):
        row_off = row[0].row_off
        finished_row = rows[row_index + 1][0].row_off if row_index + 1 < len(rows) else height_px
        chunks = [
            row[start : start + tiles_per_chunk] for start in range(0, len(row), tiles_per_chunk)
        ]
        col_off = 0
        for chunk_index, chunk in enumerate(chunks):
            last = chunk_index + 1 == len(chunks)
            # Cells are handed out on the outputs' block columns: each block then sees the
            # same writes as with full-width rows (GDAL fills the padding of edge blocks
            # differently when a block's first write covers it only in part).
            finished_col = (
                width_px if last else chunks[chunk_index + 1][0].col_off // block_w * block_w
            )
            plan.append(
                ColumnChunk(
                    row_index,
                    row_off,
                    finished_row,
                    col_off,
                    chunk[-1].col_end,
                    finished_col,
                    tuple(tuple(batch) for batch in batches(chunk, windows_per_batch)),
                    chunk_index == 0,
                    last,
                )
            )
            col_off = finished_col
    return plan


@dataclass
class _Batch:
    """One batch on its way through the stream: read and prepared, then run and blended."""

    chunk: ColumnChunk
    index: int
    strip_values: np.ndarray
    strip_valid: np.ndarray
    live: list[Tile]
    call: ModelCall | None
    result: Future[tuple[np.ndarray, float]] | None = None


@dataclass
class _ChunkRead:
    """The DSM window of a column chunk, and the prior's on the same cells (or None)."""

    chunk: ColumnChunk
    values: np.ndarray
    valid: np.ndarray
    prior: tuple[np.ndarray, np.ndarray] | None


def _read_chunk(
    chunk: ColumnChunk, source: Any, prior_source: Any, tile_h: int, stats: StreamStats
) -> _ChunkRead:
    """Read the DSM (and prior) window every tile of ``chunk`` lies in, once."""
    started = time.perf_counter()
    width_px = chunk.col_end - chunk.col_off
    values, valid = read_window(source, chunk.row_off, tile_h, chunk.col_off, width_px)
    prior = None
    if prior_source is not None:
        prior = read_window(prior_source, chunk.row_off, tile_h, chunk.col_off, width_px)
    stats.timings_s["read"] += time.perf_counter() - started
    return _ChunkRead(chunk, values, valid, prior)


def _chunk_batches(
    read: _ChunkRead,
    thresholds_m: np.ndarray,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    backend: Backend,
    stats: StreamStats,
    prior_source: Any,
) -> Iterator[_Batch]:
    """The batches of one read chunk, each with its model call prepared (None: all nodata)."""
    chunk = read.chunk
    for index, batch in enumerate(chunk.batches):
        live = [
            tile for tile in batch if read.valid[tile.slices(chunk.row_off, chunk.col_off)].any()
        ]
        call = None
        if live:
            values, valid = _batch_windows(
                live, read.values, read.valid, chunk.row_off, chunk.col_off
            )
            prior_m = None
            if read.prior is not None:
                prior_m = filled_prior(
                    *_batch_windows(live, *read.prior, chunk.row_off, chunk.col_off),
                    valid,
                    prior_source,
                )
            call = prepare_model_call(
                values, valid, thresholds_m, normalizer, backend, stats, prior_m
            )
        yield _Batch(chunk, index, read.values, read.valid, live, call)


def _blend(
    batch: _Batch,
    blender: TileRowBlender,
    tile_h: int,
    weights: TileWeights,
    stats: StreamStats,
) -> tuple[int, np.ndarray] | None:
    """Add a batch whose model call is done; the cells its chunk finishes, if it ends one."""
    chunk = batch.chunk
    if batch.index == 0:
        if chunk.first_in_row:
            blender.start_row(chunk.row_off, chunk.row_off + tile_h, chunk.finished_row)
        blender.start_chunk(chunk.col_end)
    stats.n_tiles += len(chunk.batches[batch.index])
    if batch.result is not None:
        probabilities, elapsed_s = batch.result.result()
        _count_model_call(stats, probabilities, elapsed_s)
        for tile, tile_probabilities in zip(batch.live, probabilities, strict=True):
            blender.add(tile, tile_probabilities, weights.of(tile))
        batch.result = None
    if batch.index + 1 < len(chunk.batches):
        return None  # the chunk's last batch finishes its cells
    finished = blender.finish_chunk(chunk.finished_col)
    if chunk.last_in_row:
        blender.finish_row()
    return finished


@dataclass(frozen=True)
class StreamLayout:
    """The tiling of a stream: tile rows, tile height, blending weights, chunk plan."""

    rows: list[list[Tile]]
    tile_h: int
    weights: TileWeights
    plan: list[ColumnChunk]

    @property
    def n_tiles(self) -> int:
        """Tiles in the stream."""
        return sum(len(row) for row in self.rows)


def stream_layout(
    grid: Grid, n_thresholds: int, config: InferenceConfig, writers: list[Any]
) -> StreamLayout:
    """Tiles, weights and column chunks of a stream over ``grid`` (see ``column_chunks``)."""
    height_px, width_px = grid.shape
    rows = tile_rows(height_px, width_px, config.tile_size_px, config.overlap_px)
    tile_h, tile_w = rows[0][0].height_px, rows[0][0].width_px
    weights = TileWeights.of_rows(rows, config.blend)
    # batch_size counts model inputs; a window never gets split across calls. Chunks hold
    # whole batches, so every model call gets the same windows as without chunks.
    windows_per_batch = max(1, config.batch_size // n_thresholds)
    batches_per_chunk = max(1, COLUMN_CHUNK_PX // (windows_per_batch * tile_w))
    block_w = min((_block_width(writer) for writer in writers), default=1)
    plan = column_chunks(
        rows, height_px, width_px, windows_per_batch, windows_per_batch * batches_per_chunk, block_w
    )
    return StreamLayout(rows, tile_h, weights, plan)


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
    prior_source: Any = None,
) -> StreamStats:
    """Predict gap probabilities over ``source`` and write them row band by row band.

    With ``config.model_thread`` the backend runs on a worker thread one batch ahead:
    while it computes a batch, this thread blends and writes the previous one and reads
    and normalizes the next one. The calls, their inputs and the order of every sum are
    those of the serial stream, so the outputs are bitwise the same.

    Args:
        source: open rasterio dataset (or WarpedVRT) whose cells are ``grid``.
        grid: the grid predicted on (the writers' grid too).
        thresholds_m: (T,) thresholds in metres.
        normalizer: (raw metres, valid) -> model input, e.g. ``NumpyNormalizer``.
        backend: runs the model.
        config: tile size, overlap, batch size, blend, model thread.
        writers: T rasterio datasets open for writing on ``grid``, one per threshold.
        nodata: value written where the DSM is nodata.
        reporter: progress and cancel (checked after every batch; a cancel waits for the
            one batch in flight on the model thread).
        cut_writers: T uint8 rasters on ``grid`` that receive the cut of each threshold's
            probabilities (``inference.cut.mask_cells`` at ``cutoff``) as they are written;
            None writes none.
        cutoff: probability cut-off of ``cut_writers``.
        prior_source: the terrain prior read on ``grid`` (a warped view of the DEM), for a
            model that takes one; its windows are read beside the DSM's.

    Returns:
        Counts and timings of the pass.
    """
    thresholds_m = np.asarray(thresholds_m, dtype=np.float32)
    layout = stream_layout(grid, len(thresholds_m), config, writers)
    tile_h, weights = layout.tile_h, layout.weights
    blender = TileRowBlender(len(thresholds_m), grid.width_px)
    stats = StreamStats()

    def finish(batch: _Batch) -> None:
        """Blend a batch whose model call is done; write the cells its chunk finishes."""
        if batch.result is not None:
            batch.result.result()  # the wait on the model thread is not blending time
        started = time.perf_counter()
        finished = _blend(batch, blender, tile_h, weights, stats)
        if finished is not None:
            _write_finished(finished, batch, writers, cut_writers, cutoff, nodata, stats)
        stats.timings_s["blend_write"] += time.perf_counter() - started
        reporter.report(
            stats.n_tiles / layout.n_tiles,
            f"predicting: tile row {batch.chunk.row_index + 1}/{len(layout.rows)}",
        )

    # One worker: backend calls stay in order and never run concurrently with each other.
    executor = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="forestgaps-model")
        if config.model_thread
        else None
    )
    try:
        in_flight: _Batch | None = None
        for chunk in layout.plan:
            read = _read_chunk(chunk, source, prior_source, tile_h, stats)
            for batch in _chunk_batches(
                read, thresholds_m, normalizer, backend, stats, prior_source
            ):
                if batch.call is not None:
                    if executor is not None:
                        batch.result = executor.submit(run_model_call, backend, batch.call)
                    else:
                        batch.result = _done(run_model_call(backend, batch.call))
                if in_flight is not None:
                    finish(in_flight)
                in_flight = batch
                if executor is None:
                    finish(in_flight)
                    in_flight = None
        if in_flight is not None:
            finish(in_flight)
    finally:
        if executor is not None:
            # Waits for the batch in flight (a cancel or an error stops within one batch).
            executor.shutdown(wait=True, cancel_futures=True)
    return stats


def _done(value: tuple[np.ndarray, float]) -> Future[tuple[np.ndarray, float]]:
    future: Future[tuple[np.ndarray, float]] = Future()
    future.set_result(value)
    return future


def _write_finished(
    finished: tuple[int, np.ndarray],
    batch: _Batch,
    writers: list[Any],
    cut_writers: list[Any] | None,
    cutoff: float,
    nodata: float,
    stats: StreamStats,
) -> list[np.ndarray] | None:
    """Write the blended cells a chunk finished (and their cuts), nodata where invalid.

    Returns:
        The cut of each threshold, (rows, columns) uint8, when ``cut_writers`` is given
        and the chunk finished cells; None otherwise.
    """
    from rasterio.windows import Window

    first_col, blended = finished
    chunk = batch.chunk
    n_rows, n_cols = blended.shape[1:]
    first = first_col - chunk.col_off
    valid_cells = batch.strip_valid[:n_rows, first : first + n_cols]
    stats.n_valid_px += int(np.count_nonzero(valid_cells))
    if not n_cols:
        return None
    window = Window(first_col, chunk.row_off, n_cols, n_rows)
    cuts = [] if cut_writers is not None else None
    for index, (writer, values) in enumerate(zip(writers, blended, strict=True)):
        # In place: the cells of np.where(keep, clip(values), nodata), no copies.
        keep = np.isfinite(values)
        keep &= valid_cells
        np.clip(values, 0.0, 1.0, out=values)
        values[~keep] = nodata
        writer.write(values, 1, window=window)
        if cut_writers is not None:
            cut = mask_cells(values >= cutoff, keep)
            cut_writers[index].write(cut, 1, window=window)
            cuts.append(cut)  # type: ignore[union-attr]
    return cuts

"""The prediction stream as a pipeline: every step on its own thread, the labelling within.

``predictor.stream_probabilities`` runs reading, normalizing, blending and writing on the
calling thread, the model one batch ahead on another; whatever one of them waits on (a
read, a compressed write) the model waits on too. Here each step owns a thread, joined by
bounded queues (``threads.run_pipeline``): read (DSM and prior windows of a column
chunk) → normalize (one model call's inputs) → model → blend → write (clip, mask, the
compressed probability and cut rasters) → label. The label step takes the cut's rows once
a tile row has finished them over the full width and labels them strip by strip
(``strip_labels.StripLabeller``, pass 1 of the post-processing) while the model works on
later rows; gaps open at a strip's lower edge are joined to the next strip's by the
labeller's union-find. The labelled strips are polygonized too, in blocks
(``geo.strip_parts``), so only the gaps split by block edges are left to merge after the
stream; the thresholds' strips are labelled and polygonized on one thread each. Each
step handles its items in stream order, and the model calls, the blending sums and the
writes are those of the serial stream, so the files are byte for byte the same.
``profile`` says how long each step sat blocked on its input (starved) or its output
(held up).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.strip_parts import StripParts
from forestgaps_engine.inference.backends import Backend
from forestgaps_engine.inference.blending import TileRowBlender
from forestgaps_engine.inference.cut import MASK_GAP
from forestgaps_engine.inference.predictor import (
    ColumnChunk,
    StreamStats,
    _Batch,
    _blend,
    _chunk_batches,
    _ChunkRead,
    _done,
    _read_chunk,
    _write_finished,
    run_model_call,
    stream_layout,
)
from forestgaps_engine.inference.strip_labels import StripLabeller
from forestgaps_engine.progress import Reporter
from forestgaps_engine.threads import StageProfile, run_pipeline

# Items each queue between two steps holds: enough to absorb a slow write or read, few
# enough that memory stays a handful of column chunks whatever the raster size.
QUEUE_ITEMS = 2


@dataclass
class PipelinedStream:
    """What the pipelined stream did.

    Attributes:
        stats: counts and per-step seconds, as ``stream_probabilities`` returns them.
        labellers: one per threshold, fed every row of its cut (call ``finish``); empty
            when no cut was taken in the stream.
        profile: per step, busy and blocked seconds (``threads.StageProfile``).
    """

    stats: StreamStats
    labellers: list[StripLabeller]
    profile: dict[str, StageProfile] = field(default_factory=dict)


class _CutRows:
    """The cut of each threshold over one tile row's finished rows, filled chunk by chunk."""

    def __init__(self, n_thresholds: int, width_px: int) -> None:
        self.n_thresholds = n_thresholds
        self.width_px = width_px
        self.row_off = 0
        self.rows: np.ndarray | None = None

    def add(self, chunk: ColumnChunk, first_col: int, cuts: list[np.ndarray]) -> None:
        n_rows, n_cols = cuts[0].shape
        if self.rows is None:
            self.row_off = chunk.row_off
            self.rows = np.zeros((self.n_thresholds, n_rows, self.width_px), dtype=bool)
        for index, cut in enumerate(cuts):
            np.equal(cut, MASK_GAP, out=self.rows[index, :, first_col : first_col + n_cols])

    def take(self) -> np.ndarray | None:
        rows, self.rows = self.rows, None
        return rows


def stream_pipelined(
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
    label_strip_rows: int | None = None,
) -> PipelinedStream:
    """``stream_probabilities`` with every step on its own thread, and pass 1 of the labels.

    Args:
        source: open rasterio dataset (or WarpedVRT) whose cells are ``grid``; read on the
            read thread only.
        grid: the grid predicted on (the writers' grid too).
        thresholds_m: (T,) thresholds in metres.
        normalizer: (raw metres, valid) -> model input.
        backend: runs the model, on the model thread only (calls never overlap).
        config: tile size, overlap, batch size, blend.
        writers: T rasterio datasets open for writing on ``grid``; written on the write
            thread only.
        nodata: value written where the DSM is nodata.
        reporter: progress and cancel, called on the calling thread while it waits (a
            cancel stops every step at its next item; nothing runs on afterwards).
        cut_writers: T uint8 rasters receiving the cut of each threshold; None: no cut.
        cutoff: probability cut-off of ``cut_writers``.
        prior_source: the terrain prior on ``grid``, for a model that takes one.
        label_strip_rows: with ``cut_writers``, rows per labelling strip: the cut's rows
            are labelled as they are finished, and polygonized into ``parts_<index>.gpkg``
            beside the cut rasters, in the temporary folder ``predict`` removes
            (``StripLabelling.parts`` once finished). None labels nothing.

    Returns:
        Counts, timings, the labellers and the profile of each step.
    """
    thresholds_m = np.asarray(thresholds_m, dtype=np.float32)
    n_thresholds = len(thresholds_m)
    width_px = grid.width_px
    layout = stream_layout(grid, n_thresholds, config, writers)
    tile_h, weights = layout.tile_h, layout.weights
    blender = TileRowBlender(n_thresholds, width_px)
    stats = StreamStats()
    stats.timings_s.update({"blend": 0.0, "write": 0.0, "label": 0.0})
    labellers = []
    if cut_writers is not None and label_strip_rows is not None:
        # A dataset's name is its path; a writer with none leaves the polygons for later.
        cut_path = getattr(cut_writers[0], "name", None)
        parts_dir = Path(cut_path).parent if cut_path else None
        is_polygonized = config.polygons_in_stream and parts_dir is not None
        labellers = [
            StripLabeller(
                label_strip_rows,
                StripParts(parts_dir / f"parts_{index}.gpkg", grid)
                if is_polygonized
                else None,
            )
            for index in range(n_thresholds)
        ]
    cut_rows = _CutRows(n_thresholds, width_px)
    # The tile row the blend step last reached, for the progress message.
    position = {"row_index": 0, "reported_tiles": -1}

    def normalize(read: _ChunkRead) -> Iterator[_Batch]:
        return _chunk_batches(read, thresholds_m, normalizer, backend, stats, prior_source)

    def model(batch: _Batch) -> list[_Batch]:
        if batch.call is not None:
            batch.result = _done(run_model_call(backend, batch.call))
            batch.call = None  # frees the input arrays while the batch waits to be blended
        return [batch]

    def blend(batch: _Batch) -> list[tuple[_Batch, tuple[int, np.ndarray], bool]]:
        started = time.perf_counter()
        finished = _blend(batch, blender, tile_h, weights, stats)
        position["row_index"] = batch.chunk.row_index
        stats.timings_s["blend"] += time.perf_counter() - started
        return [] if finished is None else [(batch, finished, batch.chunk.last_in_row)]

    def write(item: tuple[_Batch, tuple[int, np.ndarray], bool]) -> list[np.ndarray]:
        batch, finished, ends_row = item
        started = time.perf_counter()
        cuts = _write_finished(finished, batch, writers, cut_writers, cutoff, nodata, stats)
        rows = None
        if labellers:
            if cuts is not None:
                cut_rows.add(batch.chunk, finished[0], cuts)
            if ends_row:
                rows = cut_rows.take()
        stats.timings_s["write"] += time.perf_counter() - started
        return [] if rows is None else [rows]

    def label(rows: np.ndarray) -> None:
        started = time.perf_counter()
        # One thread per threshold; reading the results raises a labeller's error here.
        list(label_pool.map(StripLabeller.add_rows, labellers, rows))
        stats.timings_s["label"] += time.perf_counter() - started

    def poll() -> None:
        # Progress when tiles were blended since the last report; the cancel every time.
        n_tiles = stats.n_tiles
        if n_tiles == position["reported_tiles"]:
            reporter.check()
            return
        position["reported_tiles"] = n_tiles
        reporter.report(
            n_tiles / layout.n_tiles,
            f"predicting: tile row {position['row_index'] + 1}/{len(layout.rows)}",
        )

    stages: list[Any] = [("normalize", normalize), ("model", model), ("blend", blend)]
    stages.append(("write", write))
    if labellers:
        stages.append(("label", label))
    label_pool = ThreadPoolExecutor(max(1, n_thresholds), thread_name_prefix="forestgaps-label")
    try:
        reads = (_read_chunk(chunk, source, prior_source, tile_h, stats) for chunk in layout.plan)
        profile = run_pipeline(("read", reads), stages, poll, QUEUE_ITEMS)
    except BaseException:
        # Every strip being polygonized has ended before its file closes.
        label_pool.shutdown(wait=True, cancel_futures=True)
        for labeller in labellers:
            labeller.close()
        raise
    label_pool.shutdown(wait=True)
    poll()
    stats.timings_s["blend_write"] = stats.timings_s["blend"] + stats.timings_s["write"]
    return PipelinedStream(stats, labellers, profile)

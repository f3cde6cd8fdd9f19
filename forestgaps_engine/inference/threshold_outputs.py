"""Every threshold's gap outputs at once, from cuts labelled during the stream.

``predict``'s sequential path finishes one threshold (ids, statistics, mask, polygons,
size plot) before it starts the next. Here pass 2 of the labelling handles every
threshold's strips together (``postprocess.finish_cut_rasters``: each DSM strip read once,
the strips of all thresholds in the worker threads), then the masks and size plots are
written on worker threads. Each threshold's layer is written on a worker thread too, all
thresholds at once: where the stream polygonized its strips (``StripLabelling.parts``),
the gaps split by block edges are merged and the parts grouped (``geo.strip_parts``);
otherwise GDAL polygonizes the ids raster, no more rasters at a time than cores. This
thread waits, reporting progress and letting signal handlers run; a cancel or a signal
stops the polygonizers at their next scanline. Each output holds the features the
sequential path writes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.strip_parts import finish_parts
from forestgaps_engine.inference.heap import release_free_heap
from forestgaps_engine.inference.polygons import write_gap_polygons
from forestgaps_engine.inference.postprocess import (
    GapRasters,
    finish_cut_rasters,
    write_gap_mask,
)
from forestgaps_engine.partials import partial_directory
from forestgaps_engine.progress import Reporter
from forestgaps_engine.threads import available_cores


@dataclass(frozen=True)
class ThresholdJobs:
    """The thresholds whose cuts the stream wrote and labelled (pass 1).

    Attributes:
        thresholds_m: in increasing order.
        labels: their file-name labels (``t5``).
        cut_paths: the cut rasters, one per threshold (deleted once finished).
        labellings: their pass 1 (``strip_labels.StripLabelling``).
    """

    thresholds_m: list[float]
    labels: list[str]
    cut_paths: list[Path]
    labellings: list[Any]


def _timed_call(function: Any, *args: Any) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def write_threshold_outputs(
    jobs: ThresholdJobs,
    analysis_grid: Grid,
    grid: Grid,
    dsm_view: Any,
    out: Path,
    n_threads: int,
    reporter: Reporter,
    timings_s: dict[str, float],
    finished: list[Path],
) -> list[tuple[float, GapRasters, Path, Path]]:
    """Write ``gap_mask_<label>.tif``, ``gaps_<label>.gpkg`` and the size plot of each job.

    Args:
        jobs: the thresholds, their cuts and labellings.
        analysis_grid: the cuts' grid (metric).
        grid: the input's grid (the masks are written on it).
        dsm_view: the DSM on ``analysis_grid``, read on this thread only.
        out: the output folder.
        n_threads: threads finishing strips, 0 = one per core.
        reporter: progress and cancel, between steps.
        timings_s: ``postprocess_labels``, ``postprocess_mask`` and
            ``postprocess_size_plot`` (summed over their threads) and
            ``postprocess_polygons`` are added.
        finished: each output is appended once written, so that a failure removes it.

    Returns:
        ``(threshold_m, gaps, mask path, polygons path)`` per threshold, in order.
    """
    from forestgaps_engine.gaps.size_plot import write_size_frequency_plot

    n_jobs = len(jobs.thresholds_m)
    mask_paths = [out / f"gap_mask_{label}.tif" for label in jobs.labels]
    gaps_paths = [out / f"gaps_{label}.gpkg" for label in jobs.labels]
    plot_paths = [out / f"size_frequency_{label}.png" for label in jobs.labels]
    all_parts = [labelling.parts for labelling in jobs.labellings]
    has_parts = all(parts is not None for parts in all_parts)
    masks: list[Future[float]] = []
    plots: list[Future[float]] = []
    merges: list[Future[Any]] = []
    polygons: list[Future[float]] = []
    pool = ThreadPoolExecutor(max_workers=3 * n_jobs, thread_name_prefix="forestgaps-gaps")
    polygon_pool = ThreadPoolExecutor(
        max_workers=min(n_jobs, available_cores()), thread_name_prefix="forestgaps-polygons"
    )
    # Signals reach the main thread only: this stops the polygonizers on the pool.
    stop_polygons = threading.Event()
    with partial_directory(out, "forestgaps-gaps") as gaps_dir:
        try:
            if has_parts:
                # The split gaps' merges need no pass 2: they run beside it.
                merges = [pool.submit(finish_parts, parts) for parts in all_parts]
            work_dirs = [Path(gaps_dir) / label for label in jobs.labels]
            for work_dir in work_dirs:
                work_dir.mkdir()
            reporter.report(0.0, "gaps: labels of every threshold")
            started = time.perf_counter()
            all_gaps = finish_cut_rasters(
                jobs.cut_paths, jobs.labellings, analysis_grid, work_dirs, n_threads, dsm_view
            )
            timings_s["postprocess_labels"] = time.perf_counter() - started
            release_free_heap()
            masks = [
                pool.submit(_timed_call, write_gap_mask, path, gaps, grid)
                for path, gaps in zip(mask_paths, all_gaps, strict=True)
            ]
            # Drawn beside the polygonizers, which release the GIL inside GDAL: the plot
            # (0.5 s at 4096²) uses a core they leave free.
            plots = [
                pool.submit(
                    _timed_call, write_size_frequency_plot, path, gaps.statistics.area_m2,
                    f"Gap size-frequency, {threshold:g} m",
                )  # fmt: skip
                for path, gaps, threshold in zip(
                    plot_paths, all_gaps, jobs.thresholds_m, strict=True
                )
            ]
            # Wall time after pass 2: the thresholds' layers are written at once, each on
            # a thread; GDAL's polygonizers (one core each) no more at a time than cores.
            with timed(timings_s, "postprocess_polygons"):
                if has_parts:
                    polygons = [
                        pool.submit(
                            _timed_call, _write_merged_polygons, gaps_paths[index], gaps,
                            jobs.thresholds_m[index], merges[index],
                        )  # fmt: skip
                        for index, gaps in enumerate(all_gaps)
                    ]
                else:
                    polygons = [
                        polygon_pool.submit(
                            _timed_call, write_gap_polygons, gaps_paths[index], gaps,
                            gaps.statistics, jobs.thresholds_m[index], None, stop_polygons,
                        )  # fmt: skip
                        for index, gaps in enumerate(all_gaps)
                    ]
                for index, polygon in enumerate(polygons):
                    threshold = jobs.thresholds_m[index]
                    reporter.report(0.1 + 0.9 * index / n_jobs, f"gaps at {threshold:g} m")
                    _wait(polygon, reporter)
                    finished.append(gaps_paths[index])
            timings_s["postprocess_size_plot"] = sum(_wait(plot, reporter) for plot in plots)
            timings_s["postprocess_mask"] = sum(mask.result() for mask in masks)
        finally:
            # The ids rasters go with gaps_dir: every pool thread has ended first.
            stop_polygons.set()
            polygon_pool.shutdown(wait=True, cancel_futures=True)
            pool.shutdown(wait=True, cancel_futures=True)
            written = [*zip(mask_paths, masks, strict=False), *zip(plot_paths, plots, strict=False)]
            for path, task in written:
                if task.done() and not task.cancelled() and task.exception() is None:
                    finished.append(path)
            for path, polygon in zip(gaps_paths, polygons, strict=False):
                is_written = polygon.done() and not polygon.cancelled()
                if is_written and polygon.exception() is None and path not in finished:
                    finished.append(path)
    return [
        (jobs.thresholds_m[index], gaps, mask_paths[index], gaps_paths[index])
        for index, gaps in enumerate(all_gaps)
    ]


def _write_merged_polygons(
    target: Path, gaps: GapRasters, threshold_m: float, merged: Future[Any]
) -> None:
    """``write_gap_polygons`` from strip parts once their merge (``finish_parts``) is done."""
    write_gap_polygons(target, gaps, gaps.statistics, threshold_m, merged.result())


def _wait(future: Future[float], reporter: Reporter) -> float:
    """``future``'s result, checking the cancel and letting signal handlers run meanwhile."""
    while True:
        reporter.check()
        with contextlib.suppress(FutureTimeout):
            return future.result(timeout=0.2)


@contextlib.contextmanager
def timed(timings_s: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall-clock seconds to ``timings_s[key]`` (summed over thresholds)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings_s[key] = timings_s.get(key, 0.0) + time.perf_counter() - started

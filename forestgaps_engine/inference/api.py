"""``predict``: the one engine call behind ``forestgaps predict``, the plugin and the service.

Outputs per threshold T (label ``t{T:g}``), all rasters on the input's CRS, transform and
extent: ``gap_probability_tT.tif`` (float32 0..1, -1 at nodata), ``gap_mask_tT.tif`` (uint8
1 gap, 0 not, 255 nodata), ``gaps_tT.gpkg`` (one polygon per gap); and ``summary.json``.
Every file is written atomically; on cancel or failure the files this call already finished
are removed as well, so a folder never holds half a result.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import EmptyRasterError, ForestGapsError, InferenceError
from forestgaps_engine.files import (
    ensure_writable_dir,
    refuse_overwriting_inputs,
    threshold_label,
    threshold_labels,
    write_json_atomic,
)
from forestgaps_engine.gaps.thresholds import validate_thresholds
from forestgaps_engine.geo.crs import check_horizontal_units, is_geographic
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import (
    PROBABILITY_PROFILE,
    grid_of,
    open_raster_for_writing,
    open_single_band,
)
from forestgaps_engine.geo.resample import view_on_grid
from forestgaps_engine.inference.cell_size import bind_cell_size, model_working_grid
from forestgaps_engine.inference.cut import cut_profile
from forestgaps_engine.inference.heap import release_free_heap
from forestgaps_engine.inference.postprocess import (
    label_cut_raster,
    label_gap_rasters,
    strip_rows_for,
    write_gap_mask,
)
from forestgaps_engine.inference.predictor import read_window, stream_probabilities
from forestgaps_engine.inference.stream_pipeline import stream_pipelined
from forestgaps_engine.inference.terrain_prior import (
    check_terrain_prior,
    model_for_prior,
    open_prior_on_grid,
    prior_backend_name,
)
from forestgaps_engine.inference.threshold_outputs import (
    ThresholdJobs,
    timed,
    write_threshold_outputs,
)
from forestgaps_engine.inference.windows import computed_pixel_ratio
from forestgaps_engine.inference.zero_fill import zero_fill_as_nodata
from forestgaps_engine.partials import make_partial_dir, partial_directory, remove_path
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.version import __version__

logger = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
RESAMPLE_STRIP_ROWS = 512
# GDAL's block cache defaults to 5 % of RAM and fills with blocks it may never need again
# (1.2 GB on a 23 GB machine at 16384²), so ``predict`` caps it at what its rasters need.
# Tile rows are not aligned on the 256-row output blocks: each probability raster has up
# to two block rows partly written, and a partly written block that GDAL evicts is
# compressed, written, read back and written again at the end of the file (a 4096²
# probability raster grew from 30 to 45 MB under a 4 MB cache). The DSM's two block rows
# under a tile row are read by two tile rows. A post-processing strip leaves at most one
# block row of the raster it writes partly written (uint8 or int32) and shares at most one
# block row with the next strip of each raster it reads (two float32 or int32 at most):
# two block rows of 4 bytes per cell hold either.
GDAL_CACHE_MIN_BYTES = 32 * 1024 * 1024
GDAL_BLOCK_ROWS = 256  # the block height of every raster geo.raster_io writes


def gdal_cache_bytes(width_px: int, n_block_rows: int) -> int:
    """GDAL block cache for ``n_block_rows`` float32 block rows ``width_px`` wide, bytes.

    A quarter more for the rest (other rasters' headers, a warped view's blocks), and
    never less than ``GDAL_CACHE_MIN_BYTES``.
    """
    block_row_bytes = GDAL_BLOCK_ROWS * width_px * 4
    return max(GDAL_CACHE_MIN_BYTES, n_block_rows * block_row_bytes * 5 // 4)


def _bounded_gdal_cache(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``function`` with GDAL's block cache capped at ``GDAL_CACHE_MIN_BYTES``.

    ``predict`` raises the cap to ``gdal_cache_bytes`` once it knows the raster's width.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MIN_BYTES):
            return function(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class ThresholdResult:
    """Outputs and figures of one threshold."""

    threshold_m: float
    probability_path: Path
    mask_path: Path
    gaps_path: Path
    n_gaps: int
    total_gap_area_m2: float
    gap_fraction: float


@dataclass(frozen=True)
class PredictionResult:
    """What ``predict`` wrote.

    Attributes:
        out_dir: the output folder.
        thresholds: one entry per threshold, in increasing order.
        summary_path: ``summary.json``.
        summary: its content.
    """

    out_dir: Path
    thresholds: tuple[ThresholdResult, ...]
    summary_path: Path
    summary: dict[str, Any]


def _grid_summary(grid: Grid) -> dict[str, Any]:
    return {
        "crs": grid.crs,
        "resolution_m": list(grid.resolution_m),
        "width_px": grid.width_px,
        "height_px": grid.height_px,
        "bounds": list(grid.bounds),
    }


def _warp_back(
    source_path: Path, source_grid: Grid, target: Path, dsm: Any, grid: Grid, reporter: Reporter
) -> None:
    """Resample a probability raster onto the input grid, nodata where the DSM is."""
    import rasterio
    from rasterio.windows import Window

    nodata = PROBABILITY_PROFILE.nodata
    with rasterio.open(source_path) as source, view_on_grid(source, source_grid, grid) as view:
        with open_raster_for_writing(target, grid, PROBABILITY_PROFILE) as out:
            for row_off in range(0, grid.height_px, RESAMPLE_STRIP_ROWS):
                n_rows = min(RESAMPLE_STRIP_ROWS, grid.height_px - row_off)
                values, valid = read_window(view, row_off, n_rows)
                _dsm_values, dsm_valid = read_window(dsm, row_off, n_rows)
                keep = valid & dsm_valid
                out.write(
                    np.where(keep, values, nodata).astype(np.float32),
                    1,
                    window=Window(0, row_off, grid.width_px, n_rows),
                )
                reporter.report((row_off + n_rows) / grid.height_px, "resampling to the input grid")


def output_paths(out_dir: str | Path, thresholds_m: Sequence[float]) -> list[Path]:
    """Every file ``predict`` writes into ``out_dir``, summary last.

    Raises:
        ConfigError: two thresholds share a file-name label (5 and 5.0000001).
    """
    out = Path(out_dir)
    paths = []
    for label in threshold_labels(thresholds_m):
        paths += [out / f"gap_probability_{label}.tif", out / f"gap_mask_{label}.tif",
                  out / f"gaps_{label}.gpkg"]  # fmt: skip
    return paths + [out / SUMMARY_FILE]


@_bounded_gdal_cache
def predict(
    dsm_path: str | Path,
    thresholds_m: Sequence[float] | float,
    model: Any,
    out_dir: str | Path,
    config: InferenceConfig | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    backend: Any = None,
    backend_calibration: dict[str, Any] | None = None,
    terrain_prior: str | Path | None = None,
) -> PredictionResult:
    """Predict gap maps of a DSM for every threshold in one streaming pass.

    Args:
        dsm_path: single-band height raster in metres (metric or geographic CRS).
        thresholds_m: one or more gap height thresholds, metres (> 0).
        model: model folder or file, ``"default"``, a ``LoadedModel`` or an
            ``InferenceModel``. Without torch installed, a folder with ``model.onnx``.
        out_dir: output folder (created if needed).
        config: tiling, batching, blending, cut-off, minimum area, device, backend.
        progress: ``progress(fraction, message)`` callback.
        cancel: returns True to stop; outputs are then removed.
        backend: an already built backend for ``model`` (batch mode builds it once);
            None builds ``config.backend`` (``auto``: cached calibration).
        backend_calibration: the calibration figures of ``backend``, for the summary.
        terrain_prior: a coarse elevation model (DEM) in metres, any CRS and cell size,
            warped bilinearly onto the grid the model predicts on; only for a model whose
            card says ``uses_terrain_prior`` (and required by one).

    Returns:
        Paths and per-threshold figures (also in ``summary.json``).

    Raises:
        ConfigError: bad thresholds, or two sharing a file-name label.
        ModelError: the model cannot be loaded.
        InvalidDataFormatError, EmptyRasterError, CRSMismatchError: bad DSM.
        DataError: unwritable output folder, or an output that would overwrite the DSM.
        DiskFullError: the output folder ran out of space (previous files untouched).
        InferenceError: prediction or writing failed.
        CancelledError: ``cancel()`` returned True.
    """
    from forestgaps_engine.gaps.size_plot import write_size_frequency_plot
    from forestgaps_engine.inference.backends import create_backend
    from forestgaps_engine.inference.model_source import as_inference_model
    from forestgaps_engine.inference.polygons import write_gap_polygons

    started_total = time.perf_counter()
    config = config or InferenceConfig()
    thresholds = validate_thresholds(thresholds_m)
    inputs = [dsm_path] if terrain_prior is None else [dsm_path, terrain_prior]
    refuse_overwriting_inputs(inputs, output_paths(out_dir, thresholds))
    reporter = Reporter(progress, cancel)
    reporter.report(0.0, "loading the model")
    out = ensure_writable_dir(out_dir)
    timings_s: dict[str, float] = {}
    loaded = as_inference_model(model_for_prior(model, terrain_prior))
    check_terrain_prior(loaded, terrain_prior)
    low_m, high_m = loaded.card.threshold_range_m
    outside = [t for t in thresholds if high_m > 0 and not low_m <= t <= high_m]
    if outside:
        logger.warning(
            "thresholds %s m lie outside the range the model was trained on (%g..%g m); "
            "expect less reliable maps",
            ", ".join(f"{t:g}" for t in outside),
            low_m,
            high_m,
        )
    calibration: dict[str, Any] = dict(backend_calibration or {})
    if backend is None:
        backend_name = prior_backend_name(config.backend) if terrain_prior else config.backend
        backend = create_backend(loaded, backend_name, config.device, calibration=calibration)
    if terrain_prior is not None:
        prior_backend_name(backend.name)
    timings_s["load"] = time.perf_counter() - started_total
    finished: list[Path] = []
    temp_dir: Path | None = None
    cut_dir: Path | None = None
    try:
        with ExitStack() as dsm_stack:
            # An undeclared zero-filled border reads as nodata, as in whole-raster reads.
            dsm = dsm_stack.enter_context(
                zero_fill_as_nodata(dsm_stack.enter_context(open_single_band(dsm_path)))
            )
            grid = grid_of(dsm)
            check_horizontal_units(grid.crs, str(dsm_path))
            work = model_working_grid(loaded, grid, config.native_resolutions, str(dsm_path))
            backend = bind_cell_size(backend, loaded, work.resolution_m[0])
            import rasterio

            widest_px = max(grid.width_px, work.width_px)
            is_resampled = not work.same_cells(grid)
            # Without resampling or cleanup the cut is taken as the probabilities stream
            # out, instead of reading the compressed rasters back.
            cuts_in_stream = not is_resampled and config.cleanup_radius_px == 0
            # Two block rows of each probability raster and of the DSM while streaming,
            # and of each cut (uint8: a quarter of a float32 block row).
            n_block_rows = 2 * (len(thresholds) + 1)
            if cuts_in_stream:
                n_block_rows += (len(thresholds) + 1) // 2
            stream_env = rasterio.Env(GDAL_CACHEMAX=gdal_cache_bytes(widest_px, n_block_rows))
            dsm_stack.enter_context(stream_env)
            if is_resampled:
                temp_dir = make_partial_dir(out, "forestgaps-work")
            labels = [threshold_label(t) for t in thresholds]
            final_probability = [out / f"gap_probability_{label}.tif" for label in labels]
            work_probability = (
                [temp_dir / path.name for path in final_probability]
                if temp_dir is not None
                else final_probability
            )
            if cuts_in_stream:
                cut_dir = make_partial_dir(out, "forestgaps-cut")
            cut_paths = [cut_dir / f"cut_{label}.tif" for label in labels] if cut_dir else []
            is_pipelined = config.overlap_postprocess and config.model_thread
            profile: dict[str, Any] = {}
            labellers: list[Any] = []
            reporter.report(0.02, f"predicting {len(thresholds)} threshold(s)")
            with ExitStack() as stack:
                writers = [
                    stack.enter_context(open_raster_for_writing(path, work, PROBABILITY_PROFILE))
                    for path in work_probability
                ]
                cut_writers = [
                    stack.enter_context(open_raster_for_writing(path, work, cut_profile()))
                    for path in cut_paths
                ]
                source = stack.enter_context(view_on_grid(dsm, grid, work))
                prior_source = (
                    stack.enter_context(open_prior_on_grid(terrain_prior, work, dsm_path))
                    if terrain_prior is not None
                    else None
                )
                stream_started = time.perf_counter()
                stream_args = (
                    source,
                    work,
                    np.asarray(thresholds, dtype=np.float32),
                    loaded.normalizer,
                    backend,
                    config,
                    writers,
                    float(PROBABILITY_PROFILE.nodata),
                    reporter.sub(0.02, 0.78),
                    cut_writers or None,
                    config.probability_cutoff,
                    prior_source,
                )
                if is_pipelined:
                    # The cut's strips are labelled (pass 1) while the model works on.
                    pipelined = stream_pipelined(
                        *stream_args,
                        label_strip_rows=strip_rows_for(work.width_px) if cut_paths else None,
                    )
                    stream, profile = pipelined.stats, pipelined.profile
                    labellers = pipelined.labellers
                else:
                    stream = stream_probabilities(*stream_args)
                # Wall time of the stream: with the model on its own thread, its steps'
                # timings overlap and add up to more than this.
                timings_s["stream"] = time.perf_counter() - stream_started
                if stream.n_valid_px == 0:
                    raise EmptyRasterError(
                        f"{dsm_path}: every cell is nodata",
                        hint="Check the nodata value of the file, or pick another raster.",
                    )
            release_free_heap()
            if not is_resampled:
                finished.extend(final_probability)
            timings_s.update(stream.timings_s)
            started = time.perf_counter()
            if is_resampled:
                for index, (source_path, target) in enumerate(
                    zip(work_probability, final_probability, strict=True)
                ):
                    _warp_back(
                        source_path,
                        work,
                        target,
                        dsm,
                        grid,
                        reporter.sub(0.8 + 0.05 * index / len(thresholds), 0.05 / len(thresholds)),
                    )
                    finished.append(target)
            timings_s["resample_back"] = time.perf_counter() - started
            # Areas need metres: a geographic input is analysed on the metric working grid.
            analysis_grid = work if is_geographic(grid.crs) else grid
            analysis_probability = (
                work_probability if is_geographic(grid.crs) else final_probability
            )
            started = time.perf_counter()
            outputs: list[tuple[float, Any, Path, Path]] = []
            if labellers:
                # Every threshold's strips at once: two block rows of each threshold's.
                cache_bytes = gdal_cache_bytes(widest_px, 2 * len(thresholds))
                dsm_stack.enter_context(rasterio.Env(GDAL_CACHEMAX=cache_bytes))
                with view_on_grid(dsm, grid, analysis_grid) as dsm_view:
                    outputs = write_threshold_outputs(
                        ThresholdJobs(
                            thresholds,
                            labels,
                            cut_paths,
                            [
                                labeller.finish(
                                    analysis_grid.cell_area_m2,
                                    config.min_gap_area_m2,
                                    config.max_gap_area_m2,
                                )
                                for labeller in labellers
                            ],
                        ),
                        analysis_grid,
                        grid,
                        dsm_view,
                        out,
                        config.postprocess_threads,
                        reporter.sub(0.85, 0.15),
                        timings_s,
                        finished,
                    )
            else:
                # One block row of the rasters a strip reads or writes (GDAL_CACHE_MIN_BYTES).
                cache_bytes = gdal_cache_bytes(widest_px, 2)
                dsm_stack.enter_context(rasterio.Env(GDAL_CACHEMAX=cache_bytes))
            for index, threshold in enumerate(thresholds if not labellers else ()):
                reporter.report(0.85 + 0.15 * index / len(thresholds), f"gaps at {threshold:g} m")
                # The ids go to a temporary raster, read back by strips and by gap boxes:
                # post-processing memory stays O(strip + gaps) whatever the raster size.
                with partial_directory(out, "forestgaps-gaps") as gaps_dir:
                    release_free_heap()
                    view = view_on_grid(dsm, grid, analysis_grid)
                    with view as dsm_view, timed(timings_s, "postprocess_labels"):
                        if cut_paths:
                            gaps = label_cut_raster(
                                cut_paths[index],
                                analysis_grid,
                                config.min_gap_area_m2,
                                Path(gaps_dir),
                                config.max_gap_area_m2,
                                config.postprocess_threads,
                                dsm_view,
                            )
                        else:
                            with rasterio.open(analysis_probability[index]) as probability:
                                gaps = label_gap_rasters(
                                    probability,
                                    analysis_grid,
                                    config.probability_cutoff,
                                    config.min_gap_area_m2,
                                    Path(gaps_dir),
                                    config.cleanup_radius_px,
                                    config.max_gap_area_m2,
                                    config.postprocess_threads,
                                    dsm_view,
                                )
                    release_free_heap()
                    mask_path = out / f"gap_mask_{labels[index]}.tif"
                    with timed(timings_s, "postprocess_mask"):
                        write_gap_mask(mask_path, gaps, grid)
                    finished.append(mask_path)
                    release_free_heap()
                    gaps_path = out / f"gaps_{labels[index]}.gpkg"
                    with timed(timings_s, "postprocess_polygons"):
                        write_gap_polygons(gaps_path, gaps, gaps.statistics, threshold)
                    finished.append(gaps_path)
                    size_plot_path = out / f"size_frequency_{labels[index]}.png"
                    with timed(timings_s, "postprocess_size_plot"):
                        write_size_frequency_plot(
                            size_plot_path,
                            gaps.statistics.area_m2,
                            f"Gap size-frequency, {threshold:g} m",
                        )
                    finished.append(size_plot_path)
                outputs.append((threshold, gaps, mask_path, gaps_path))
            timings_s["postprocess"] = time.perf_counter() - started
        results = [
            ThresholdResult(
                threshold_m=threshold,
                probability_path=final_probability[index],
                mask_path=mask_path,
                gaps_path=gaps_path,
                n_gaps=gaps.n_gaps,
                total_gap_area_m2=gaps.n_gap_px * analysis_grid.cell_area_m2,
                gap_fraction=gaps.n_gap_px / gaps.n_valid_px if gaps.n_valid_px else 0.0,
            )
            for index, (threshold, gaps, mask_path, gaps_path) in enumerate(outputs)
        ]
        timings_s["total"] = time.perf_counter() - started_total
        summary = _summary(
            dsm_path, grid, work, loaded, backend, config, results, stream, timings_s
        )
        summary["backend_calibration"] = calibration or None
        # Per pipelined stream step: busy seconds and seconds blocked on its input/output.
        summary["profile"] = (
            {name: step.rounded() for name, step in profile.items()} if profile else None
        )
        summary["terrain_prior"] = str(terrain_prior) if terrain_prior is not None else None
        summary_path = write_json_atomic(out / SUMMARY_FILE, summary)
        finished.append(summary_path)
    except BaseException as error:
        for path in finished:
            path.unlink(missing_ok=True)
        # Errors of our own and cancels go up as they are; system failures get a hint.
        is_system_failure = isinstance(error, (OSError, MemoryError, RuntimeError))
        if isinstance(error, ForestGapsError) or not is_system_failure:
            raise
        raise InferenceError(
            f"prediction of {dsm_path} into {out} failed: {type(error).__name__}: {error}",
            hint="Check free disk space and write permissions; on memory errors lower "
            "--batch or --tile.",
        ) from error
    finally:
        for folder in (temp_dir, cut_dir):
            if folder is not None:
                remove_path(folder)
    reporter.report(1.0, "done")
    return PredictionResult(out, tuple(results), summary_path, summary)


def _summary(
    dsm_path: str | Path,
    grid: Grid,
    work: Grid,
    loaded: Any,
    backend: Any,
    config: InferenceConfig,
    results: list[ThresholdResult],
    stream: Any,
    timings_s: dict[str, float],
) -> dict[str, Any]:
    n_pixels = grid.width_px * grid.height_px
    predict_s = timings_s["stream"]
    return {
        "engine_version": __version__,
        "dsm": str(dsm_path),
        "grid": _grid_summary(grid),
        "working_grid": None if work.same_cells(grid) else _grid_summary(work),
        "model": {
            "model_id": loaded.card.model_id,
            "model_version": loaded.card.model_version,
            "architecture": loaded.card.architecture,
            "path": str(loaded.path),
        },
        "device": backend.device,
        "backend": backend.name,
        "config": config.model_dump(mode="json"),
        "thresholds": [
            {
                "threshold_m": result.threshold_m,
                "n_gaps": result.n_gaps,
                "total_gap_area_m2": result.total_gap_area_m2,
                "gap_fraction": result.gap_fraction,
                "files": {
                    "probability": result.probability_path.name,
                    "mask": result.mask_path.name,
                    "gaps": result.gaps_path.name,
                },
            }
            for result in results
        ],
        "n_tiles": stream.n_tiles,
        "n_model_calls": stream.n_model_calls,
        "overlap_ratio": computed_pixel_ratio(
            work.height_px, work.width_px, config.tile_size_px, config.overlap_px
        ),
        "timings_s": {key: round(value, 4) for key, value in timings_s.items()},
        "mpix_per_s": round(n_pixels / 1e6 / max(timings_s["total"], 1e-9), 4),
        "predict_mpix_per_s": round(work.width_px * work.height_px / 1e6 / max(predict_s, 1e-9), 4),
    }

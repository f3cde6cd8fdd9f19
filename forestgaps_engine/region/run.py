"""``region``: gap maps over a mosaic of tiles, block by block on Dask, seamless and resumable.

Steps: harmonise the tiles into one VRT mosaic; cut it into blocks (``plan``); pass 1 on
every block (``blocks.run_block``); join the patches into global gap ids (``merge``);
pass 2 on every block (``blocks.finish_block``); assemble the COGs and the gap layer
(``outputs``). The work folder ``<out>/region_work`` records the finished blocks: a rerun
with the same inputs and settings redoes only the missing ones; it is removed once the
outputs are written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.files import ensure_writable_dir, threshold_labels, write_json_atomic
from forestgaps_engine.gaps.thresholds import validate_thresholds
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.cell_size import model_working_grid
from forestgaps_engine.inference.model_source import as_inference_model
from forestgaps_engine.partials import remove_path
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.region.block_labels import BlockPatches
from forestgaps_engine.region.blocks import RegionJob, finish_block, run_block
from forestgaps_engine.region.calibrate import estimate
from forestgaps_engine.region.cluster import WORKER_BASE_BYTES, dask_client, require_dask, run_tasks
from forestgaps_engine.region.inputs import collect_tiles
from forestgaps_engine.region.merge import merge_patches
from forestgaps_engine.region.mosaic import (
    build_mosaic,
    describe_tiles,
    finest_resolution_m,
    target_crs,
)
from forestgaps_engine.region.outputs import write_outputs
from forestgaps_engine.region.plan import block_bytes, classic_plan, model_plan
from forestgaps_engine.version import __version__

logger = logging.getLogger(__name__)

WORK_DIR, PLAN_FILE, SUMMARY_FILE = "region_work", "plan.json", "summary.json"
METHODS = ("model", "classic")


@dataclass(frozen=True)
class RegionSettings:
    """How a region is run (the parts that do not change its results live apart)."""

    method: str = "model"
    model: str = "default"
    config: InferenceConfig = field(default_factory=InferenceConfig)
    block_size_px: int = 2048
    crs: str | None = None
    resolution_m: float | None = None
    # Classic: ForestGapR's getForestGaps bounds (inclusive); model: config's.
    min_area_m2: float = 1.0
    max_area_m2: float | None = 10000.0


@dataclass(frozen=True)
class RegionResult:
    """What ``region`` wrote (or, for a dry run, planned)."""

    out_dir: Path
    summary: dict[str, Any]
    summary_path: Path | None


def prepare_job(
    inputs: Sequence[str | Path], thresholds_m: Sequence[float] | float, out_dir: str | Path,
    settings: RegionSettings,
) -> tuple[RegionJob, dict[str, Any]]:  # fmt: skip
    """Mosaic and plan of a region in ``out_dir/region_work`` (reused when they match).

    Raises:
        ConfigError: bad method, thresholds or block size; a work folder left by a run
            with other inputs or settings.
        DataError, CRSMismatchError: unreadable tiles, tiles without a CRS.
    """
    if settings.method not in METHODS:
        raise ConfigError(f"method {settings.method!r} is unknown", hint="Use model or classic.")
    thresholds = validate_thresholds(thresholds_m)
    labels = threshold_labels(thresholds)
    tiles = collect_tiles(inputs)
    out = ensure_writable_dir(out_dir)
    work = out / WORK_DIR
    infos = describe_tiles(tiles)
    crs = target_crs(infos, settings.crs)
    resolution_m = settings.resolution_m or finest_resolution_m(infos, crs)
    config = settings.config
    model_path: str | None = None
    model_id = None
    if settings.method == "model":
        loaded = as_inference_model(settings.model)
        model_path, model_id = str(loaded.path), loaded.card.model_id
        if settings.resolution_m is None:
            # The cell size predict would work at for tiles of resolution_m.
            probe = Grid(crs, Affine(resolution_m, 0, 0, 0, -resolution_m, 0), 64, 64)
            model_grid = model_working_grid(loaded, probe, config.native_resolutions, "region")
            resolution_m = model_grid.resolution_m[0]
    if settings.block_size_px < 64:
        raise ConfigError(
            f"block size {settings.block_size_px} px is too small",
            hint="Use --block-size 64 or more (2048 by default).",
        )
    identity = {
        "engine_version": __version__,
        "tiles": [[str(tile), tile.stat().st_size, int(tile.stat().st_mtime)] for tile in tiles],
        "method": settings.method,
        "model_id": model_id,
        "model": model_path,
        "thresholds_m": thresholds,
        "config": config.model_dump(mode="json"),
        "block_size_px": settings.block_size_px,
        "crs": crs,
        "resolution_m": resolution_m,
        "min_area_m2": settings.min_area_m2,
        "max_area_m2": settings.max_area_m2,
    }
    fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    plan_path = work / PLAN_FILE
    if plan_path.is_file():
        recorded = json.loads(plan_path.read_text("utf-8")).get("fingerprint")
        if recorded != fingerprint:
            raise ConfigError(
                f"{work} holds the blocks of a region run with other tiles or settings",
                hint=f"Choose another --out folder, or delete {work} to start again.",
            )
    work.mkdir(exist_ok=True)
    mosaic = build_mosaic(infos, crs, resolution_m, work)
    height_px, width_px = mosaic.grid.shape
    if settings.method == "model":
        plan = model_plan(
            height_px, width_px, settings.block_size_px, config.tile_size_px,
            config.overlap_px, 4 * config.cleanup_radius_px,
        )  # fmt: skip
    else:
        plan = classic_plan(height_px, width_px, settings.block_size_px)
    job = RegionJob(
        str(mosaic.path), mosaic.grid, plan, tuple(thresholds), tuple(labels), str(work),
        settings.method, model_path, config.model_dump(),
    )  # fmt: skip
    if not plan_path.is_file():
        write_json_atomic(plan_path, {"fingerprint": fingerprint, **identity})
    facts = {
        "n_tiles": mosaic.n_tiles,
        "n_warped_tiles": mosaic.n_warped,
        "crs": crs,
        "resolution_m": resolution_m,
        "mosaic_px": [height_px, width_px],
        "blocks": list(plan.shape),
        "n_blocks": len(plan.blocks),
        "block_memory_bytes": block_bytes(plan, len(thresholds)),
    }
    return job, facts


def _load_patches(job: RegionJob) -> tuple[list[dict[str, BlockPatches]], int]:
    """Per threshold, block name -> patches; and the valid cells of the mosaic."""
    per_threshold: list[dict[str, BlockPatches]] = [{} for _ in job.thresholds_m]
    n_valid_px = 0
    for block in job.plan.blocks:
        with np.load(job.record_path(block)) as arrays:
            n_valid_px += int(arrays["n_valid_px"])
            for index in range(len(job.thresholds_m)):
                per_threshold[index][block.name] = BlockPatches.from_arrays(arrays, f"t{index}_")
    return per_threshold, n_valid_px


def region(
    inputs: Sequence[str | Path],
    thresholds_m: Sequence[float] | float,
    out_dir: str | Path,
    settings: RegionSettings | None = None,
    scheduler: str = "local",
    n_workers: int | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    processes: bool = True,
) -> RegionResult:
    """Detect gaps over a region of tiles (see the module docstring).

    Args:
        inputs: folders, rasters or VRTs of DSM tiles (CHM tiles for ``classic``).
        thresholds_m: gap height thresholds, metres.
        out_dir: output folder.
        settings: method, model, inference config, block size, CRS, resolution.
        scheduler: ``local`` (a LocalCluster) or a Dask scheduler address.
        n_workers: local workers (default one per core).
        dry_run: plan only; time one calibration block and estimate the run.
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop (finished blocks stay recorded for a rerun).
        processes: local workers are processes (False: threads, e.g. inside QGIS).

    Returns:
        The outputs and ``summary.json``'s content.
    """
    if not dry_run:
        require_dask()
    settings = settings or RegionSettings()
    reporter = Reporter(progress, cancel)
    started = time.perf_counter()
    reporter.report(0.0, "planning the blocks")
    job, facts = prepare_job(inputs, thresholds_m, out_dir, settings)
    out = Path(out_dir)
    if dry_run:
        facts.update(estimate(job, n_workers))
        return RegionResult(out, facts, None)
    blocks = job.plan.blocks
    n_done = sum(job.is_done(block) for block in blocks)
    if n_done:
        logger.info("resuming: %d of %d blocks already done", n_done, len(blocks))
    memory_bytes = WORKER_BASE_BYTES + 3 * facts["block_memory_bytes"]
    token = uuid.uuid4().hex[:8]
    timings_s: dict[str, float] = {}
    with dask_client(scheduler, n_workers, memory_bytes, processes) as client:
        facts["dashboard"] = client.dashboard_link
        todo = [block for block in blocks if not job.is_done(block)]
        step = time.perf_counter()
        run_tasks(
            client, run_block, [(job, block) for block in todo],
            [f"region-{token}-{block.name}" for block in todo],
            reporter.sub(0.02, 0.7), "blocks",
        )  # fmt: skip
        timings_s["blocks"] = time.perf_counter() - step
        step = time.perf_counter()
        patches, n_valid_px = _load_patches(job)
        area_bounds_m2 = (
            (settings.config.min_gap_area_m2, settings.config.max_gap_area_m2)
            if settings.method == "model" else (settings.min_area_m2, settings.max_area_m2)
        )  # fmt: skip
        merged = [
            merge_patches(job.plan, by_block, job.grid.cell_area_m2, *area_bounds_m2)
            for by_block in patches
        ]
        timings_s["merge"] = time.perf_counter() - step
        step = time.perf_counter()
        todo = [block for block in blocks if not job.is_finished(block)]
        run_tasks(
            client, finish_block,
            [(job, block, [gaps.final_ids[block.name] for gaps in merged]) for block in todo],
            [f"finish-{token}-{block.name}" for block in todo],
            reporter.sub(0.72, 0.13), "gap ids",
        )  # fmt: skip
        timings_s["finish"] = time.perf_counter() - step
        facts["n_workers"] = len(client.scheduler_info().get("workers", {}))
    step = time.perf_counter()
    thresholds = write_outputs(job, merged, n_valid_px, out, reporter.sub(0.85, 0.15))
    timings_s["outputs"] = time.perf_counter() - step
    timings_s["total"] = time.perf_counter() - started
    summary = {
        "engine_version": __version__,
        "method": settings.method,
        "model": job.model,
        "scheduler": scheduler,
        "resumed_blocks": n_done,
        **facts,
        "thresholds": thresholds,
        "timings_s": {key: round(value, 3) for key, value in timings_s.items()},
    }
    summary_path = write_json_atomic(out / SUMMARY_FILE, summary)
    remove_path(Path(job.work_dir))
    reporter.report(1.0, "done")
    return RegionResult(out, summary, summary_path)

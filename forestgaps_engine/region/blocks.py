"""The two passes a worker runs on a block; each writes its files atomically.

Pass 1 (``run_block``): the block's probabilities (model) or heights (classic), its cut
per threshold, and its patches (``block_labels``) in ``records/<block>.npz``, written
last: a block whose record exists is finished, and a rerun skips it.
Pass 2 (``finish_block``): once the merge has numbered the gaps, the block's gap ids and
mask per threshold, from its cut labelled again (the same labels).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.files import atomic_path
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference.cell_size import bind_cell_size
from forestgaps_engine.inference.cut import MASK_GAP, MASK_NODATA, mask_cells
from forestgaps_engine.inference.strip_labels import local_labels
from forestgaps_engine.region.block_labels import block_patches
from forestgaps_engine.region.plan import Block, BlockPlan

RECORDS_DIR, BLOCKS_DIR = "records", "blocks"


@dataclass(frozen=True)
class RegionJob:
    """Everything a block needs, picklable for Dask.

    Attributes:
        mosaic_path: the mosaic VRT (on storage every worker reads).
        grid: the mosaic's grid.
        plan: the block plan.
        thresholds_m: thresholds, increasing.
        labels: their file-name labels (``t5``).
        work_dir: the run's work folder.
        method: ``model`` or ``classic``.
        model: model folder (model method).
        config: the run's ``InferenceConfig`` as a dict.
    """

    mosaic_path: str
    grid: Grid
    plan: BlockPlan
    thresholds_m: tuple[float, ...]
    labels: tuple[str, ...]
    work_dir: str
    method: str
    model: str | None
    config: dict[str, Any]

    def block_grid(self, block: Block) -> Grid:
        """The grid of a block's core."""
        from affine import Affine

        transform = self.grid.transform * Affine.translation(block.col_off, block.row_off)
        return Grid(self.grid.crs, transform, block.height_px, block.width_px)

    def record_path(self, block: Block) -> Path:
        """Path of the block's record (.npz) under the work folder."""
        return Path(self.work_dir) / RECORDS_DIR / f"{block.name}.npz"

    def block_dir(self, block: Block) -> Path:
        """Folder of the block's outputs under the work folder."""
        return Path(self.work_dir) / BLOCKS_DIR / block.name

    def is_done(self, block: Block) -> bool:
        """Whether the block's record exists (its work is done)."""
        return self.record_path(block).is_file()

    def is_finished(self, block: Block) -> bool:
        """Whether every output of the block exists in its folder."""
        folder = self.block_dir(block)
        return all(
            (folder / f"{kind}_{label}.tif").is_file()
            for label in self.labels
            for kind in ("ids", "mask")
        )


def _cuts(job: RegionJob, block: Block, source: Any) -> tuple[np.ndarray, np.ndarray, list]:
    """(core heights, core validity, one uint8 cut per threshold); probabilities written."""
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.geo.raster_io import PROBABILITY_PROFILE, write_array
    from forestgaps_engine.inference.postprocess import cleaned_gaps
    from forestgaps_engine.inference.predictor import read_window
    from forestgaps_engine.region.block_surface import block_probabilities

    config = InferenceConfig(**job.config)
    thresholds = np.asarray(job.thresholds_m, dtype=np.float32)
    if job.method == "classic":
        window = job.plan.read_window(block)
        values, valid = read_window(
            source, window.row_off, window.height_px, window.col_off, window.width_px
        )
        core = block.slices(window.row_off, window.col_off)
        # Compared in float64 as gaps.detector.label_gaps (ForestGapR) compares.
        heights = values.astype(np.float64)
        cuts = [mask_cells(valid & (heights <= float(t)), valid)[core] for t in job.thresholds_m]
        return values[core], valid[core], cuts
    from forestgaps_engine.region.worker import model_and_backend

    assert job.model is not None  # noqa: S101 - set for the model method
    loaded, backend = model_and_backend(job.model, config.backend, config.device)
    backend = bind_cell_size(backend, loaded, job.block_grid(block).resolution_m[0])
    window, values, valid, probabilities = block_probabilities(
        source, job.plan, block, thresholds, loaded.normalizer, backend, config
    )
    core = block.slices(window.row_off, window.col_off)
    cuts = []
    for label, layer in zip(job.labels, probabilities, strict=True):
        write_array(
            job.block_dir(block) / f"probability_{label}.tif", layer[core], job.block_grid(block),
            PROBABILITY_PROFILE,
        )  # fmt: skip
        keep = np.isfinite(layer)
        is_gap = cleaned_gaps(keep & (layer >= config.probability_cutoff), keep,
                              config.cleanup_radius_px)  # fmt: skip
        cuts.append(mask_cells(is_gap, keep)[core])
    return values[core], valid[core], cuts


def run_block(job: RegionJob, block: Block) -> dict[str, Any]:
    """Pass 1 on one block (see the module docstring); returns its figures."""
    from forestgaps_engine.geo.raster_io import open_single_band, write_array
    from forestgaps_engine.inference.cut import cut_profile

    started = time.perf_counter()
    if job.is_done(block):
        return {"block": block.name, "skipped": True}
    folder = job.block_dir(block)
    folder.mkdir(parents=True, exist_ok=True)
    with open_single_band(job.mosaic_path) as source:
        heights, valid, cuts = _cuts(job, block, source)
    arrays: dict[str, np.ndarray] = {}
    n_valid_px = 0
    for index, (label, cut) in enumerate(zip(job.labels, cuts, strict=True)):
        write_array(folder / f"cut_{label}.tif", cut, job.block_grid(block), cut_profile())
        labels = local_labels(cut == MASK_GAP)
        patches = block_patches(labels, heights, valid, block, job.grid.width_px)
        arrays.update(patches.to_arrays(f"t{index}_"))
        n_valid_px = int(np.count_nonzero(cut != MASK_NODATA))
    arrays["n_valid_px"] = np.array(n_valid_px)
    record = job.record_path(block)
    record.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(record) as temp_path:
        with open(temp_path, "wb") as stream:
            np.savez(stream, **arrays)
    return {"block": block.name, "skipped": False, "duration_s": time.perf_counter() - started}


def finish_block(job: RegionJob, block: Block, final_ids: list[np.ndarray]) -> str:
    """Pass 2 on one block: gap ids (0 = no gap) and mask per threshold."""
    import rasterio

    from forestgaps_engine.geo.raster_io import GAP_ID_PROFILE, MASK_PROFILE, write_array

    folder = job.block_dir(block)
    grid = job.block_grid(block)
    for label, table in zip(job.labels, final_ids, strict=True):
        with rasterio.open(folder / f"cut_{label}.tif") as dataset:
            cut = dataset.read(1)
        ids = table[local_labels(cut == MASK_GAP)]
        write_array(folder / f"ids_{label}.tif", ids, grid, GAP_ID_PROFILE)
        write_array(folder / f"mask_{label}.tif", mask_cells(ids > 0, cut != MASK_NODATA),
                    grid, MASK_PROFILE)  # fmt: skip
    return block.name

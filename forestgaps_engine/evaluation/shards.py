"""``evaluate_shards``: score a model and the DSM-only baseline on a prepared split's tiles.

``forestgaps prepare`` labels whole sites (ForestGapR on the CHM, area rule included)
before tiling, so the tiles of its ``test`` split carry reference masks for every prepared
threshold. Each tile is predicted as one window (nodata filled for the model as ``predict``
fills it), its patches bounded by the same area rule, and the DSM-only baseline runs on
the same tile. The tiles are then laid side by side in one mosaic with a nodata gutter
between them, so that every score of ``evaluate`` (pixels, objects by size, boundaries,
coarse grid, size laws) runs unchanged and no gap spans two tiles.

Limits, stated in the report: a model sees one tile (no neighbouring context, no blending),
and the DSM-only baseline estimates the ground from that tile alone, so both score a
little lower than on whole sites; the predictions' area bounds see one tile, the labels'
saw the whole site; the coarse-grid cells of the mosaic may span tiles.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.data.records import (
    TILES_NAME,
    load_manifest,
    prepared_cell_size_m,
    site_cell_sizes_m,
    split_shards,
)
from forestgaps_engine.data.shard_reader import iter_shards
from forestgaps_engine.errors import ConfigError, DataError
from forestgaps_engine.evaluation.api import DSM_ONLY, EvaluationResult
from forestgaps_engine.evaluation.baselines import dsm_only_masks
from forestgaps_engine.evaluation.plots import error_map_png
from forestgaps_engine.evaluation.report import write_report
from forestgaps_engine.evaluation.scoring import MethodScores, score_prediction
from forestgaps_engine.files import ensure_writable_dir
from forestgaps_engine.gaps.thresholds import validate_thresholds
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.resample import native_range_m, within_native_range
from forestgaps_engine.inference.backends import create_backend
from forestgaps_engine.inference.cell_size import bind_cell_size
from forestgaps_engine.inference.model_source import as_inference_model
from forestgaps_engine.inference.postprocess import label_mask_in_place
from forestgaps_engine.inference.predictor import predict_windows
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

GUTTER_PX = 1
DEFAULT_MAX_TILES = 256


@dataclass(frozen=True)
class PreparedSplit:
    """The tiles of one split and the rule that labelled them."""

    shards: tuple[Path, ...]
    n_tiles: int
    thresholds_m: tuple[float, ...]
    cell_size_m: float
    min_area_m2: float
    max_area_m2: float
    # Kept tiles of the split per cell size, when its sites have several
    # (synth.keep_site_resolutions); empty when they share one. Only the tiles at
    # ``cell_size_m`` are scored, and ``n_tiles`` counts those.
    tiles_per_cell_size_m: dict[float, int] = field(default_factory=dict)


def read_prepared_split(
    prepared_dir: str | Path, split: str, cell_size_m: float | None = None
) -> PreparedSplit:
    """The shards, thresholds, cell size and area rule of ``split`` in a prepared folder.

    Args:
        prepared_dir: a ``forestgaps prepare`` output folder.
        split: ``train``, ``val`` or ``test``.
        cell_size_m: where the split's sites have several cell sizes, the one to score
            (default: the one most of its tiles have); ignored where they share one.

    Raises:
        DataError: no manifest, or the split holds no tile.
        ConfigError: ``cell_size_m`` is none of the split's cell sizes.
    """
    manifest = load_manifest(prepared_dir)
    shards, counts = split_shards(prepared_dir, split)
    if not shards or sum(counts) == 0:
        known = sorted(name for name, entry in manifest["splits"].items() if entry.get("n_samples"))
        raise DataError(
            f"{prepared_dir}: the {split!r} split holds no tile",
            hint=f"Pick one of the splits with tiles: {', '.join(known) or 'none'}.",
        )
    gaps = manifest.get("config", {}).get("gaps", {})
    per_cell = _tiles_per_cell_size_m(Path(prepared_dir), manifest, split)
    n_tiles, chosen_m = int(sum(counts)), _recorded_cell_size_m(manifest)
    if len(per_cell) > 1:
        chosen_m = _pick_cell_size_m(per_cell, cell_size_m, prepared_dir, split)
        n_tiles = per_cell[chosen_m]
    return PreparedSplit(
        shards=tuple(shards),
        n_tiles=n_tiles,
        thresholds_m=tuple(float(t) for t in manifest["thresholds_m"]),
        cell_size_m=chosen_m,
        min_area_m2=float(gaps.get("min_area_m2", 1.0)),
        max_area_m2=float(gaps.get("max_area_m2", 1e9)),
        tiles_per_cell_size_m=per_cell if len(per_cell) > 1 else {},
    )


def _recorded_cell_size_m(manifest: dict[str, Any]) -> float:
    """``records.prepared_cell_size_m``, else the synthetic sites' configured cell size."""
    recorded = prepared_cell_size_m(manifest)
    synth = manifest.get("config", {}).get("synth", {})
    return recorded or float(synth.get("resolution_m", 1.0))


def _tiles_per_cell_size_m(
    prepared_dir: Path, manifest: dict[str, Any], split: str
) -> dict[float, int]:
    """Kept tiles of ``split`` per cell size (from tiles.jsonl and the sites' grids)."""
    site_cells_m = site_cell_sizes_m(manifest)
    records = prepared_dir / TILES_NAME
    if len(set(site_cells_m.values())) < 2 or not records.is_file():
        return {}
    counts: dict[float, int] = {}
    with records.open("r", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            cell_m = site_cells_m.get(record.get("site"))
            if record.get("split") == split and record.get("status") == "kept" and cell_m:
                counts[cell_m] = counts.get(cell_m, 0) + 1
    return dict(sorted(counts.items()))


def _pick_cell_size_m(
    per_cell: dict[float, int], wanted_m: float | None, prepared_dir: str | Path, split: str
) -> float:
    if wanted_m is None:
        # The most tiles; on a tie the finer cells.
        return max(per_cell, key=lambda cell_m: (per_cell[cell_m], -cell_m))
    for cell_m in per_cell:
        if math.isclose(cell_m, wanted_m, rel_tol=1e-6):
            return cell_m
    listed = ", ".join(f"{cell_m:g} m ({n} tiles)" for cell_m, n in per_cell.items())
    raise ConfigError(
        f"{prepared_dir}: the {split!r} split has no tile at {wanted_m:g} m cells; it has {listed}",
        hint="Pass one of those cell sizes to --cell-size.",
    )


def _same_cell_size(sample: Any, cell_size_m: float) -> bool:
    resolution_m = sample.metadata.get("resolution_m") or [cell_size_m]
    return math.isclose(float(resolution_m[0]), cell_size_m, rel_tol=1e-6)


@dataclass
class _Mosaic:
    """Tiles side by side, ``GUTTER_PX`` of nodata between them; layers per threshold."""

    valid: np.ndarray
    reference: dict[float, np.ndarray]
    model_probability: dict[float, np.ndarray]
    model_masks: dict[float, np.ndarray]
    baseline_masks: dict[float, np.ndarray]
    tile_px: int
    n_cols: int

    def place(self, index: int) -> tuple[slice, slice]:
        row, col = divmod(index, self.n_cols)
        step = self.tile_px + GUTTER_PX
        return (
            slice(row * step, row * step + self.tile_px),
            slice(col * step, col * step + self.tile_px),
        )


def _empty_mosaic(n_tiles: int, tile_px: int, thresholds: list[float]) -> _Mosaic:
    n_cols = max(1, math.ceil(math.sqrt(n_tiles)))
    n_rows = math.ceil(n_tiles / n_cols)
    step = tile_px + GUTTER_PX
    shape = (n_rows * step - GUTTER_PX, n_cols * step - GUTTER_PX)

    def masks() -> dict[float, np.ndarray]:
        return {t: np.zeros(shape, dtype=bool) for t in thresholds}

    return _Mosaic(
        valid=np.zeros(shape, dtype=bool),
        reference=masks(),
        model_probability={t: np.full(shape, np.nan, dtype=np.float32) for t in thresholds},
        model_masks=masks(),
        baseline_masks=masks(),
        tile_px=tile_px,
        n_cols=n_cols,
    )


def _every_kth(n_tiles: int, max_tiles: int) -> set[int]:
    """Indices of at most ``max_tiles`` tiles spread evenly over the split."""
    if n_tiles <= max_tiles:
        return set(range(n_tiles))
    return {int(i) for i in np.linspace(0, n_tiles - 1, max_tiles).round()}


def evaluate_shards(
    prepared_dir: str | Path,
    model: Any,
    split: str = "test",
    thresholds_m: Sequence[float] | None = None,
    out_dir: str | Path = "out/evaluate",
    inference: InferenceConfig | None = None,
    max_tiles: int = DEFAULT_MAX_TILES,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    cell_size_m: float | None = None,
) -> EvaluationResult:
    """Score ``model`` and the DSM-only baseline on the tiles of a prepared split.

    A mosaic holds one cell size: where the split's sites have several
    (``synth.keep_site_resolutions``), the tiles of one of them are scored
    (``cell_size_m``, default the most common) and the report lists the others.

    Args:
        prepared_dir: a ``forestgaps prepare`` output folder (``manifest.json``, shards).
        model: model folder, ``"default"``, ``LoadedModel`` or ``InferenceModel``.
        split: ``test`` (default), ``val`` or ``train``.
        thresholds_m: thresholds to score, among the prepared ones (default: all).
        out_dir: report folder (created).
        inference: backend, device, cut-off, batch size (area bounds come from the
            prepared labels' rule).
        max_tiles: at most this many tiles, spread evenly over the split.
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop (raises CancelledError).
        cell_size_m: the cell size scored where the split has several.

    Raises:
        DataError: not a prepared folder, an empty split, damaged shards.
        ConfigError: a threshold that was not prepared, ``max_tiles`` < 1, a
            ``cell_size_m`` the split does not have.
        ModelError, InferenceError: the model cannot be loaded or run.
        CancelledError: ``cancel()`` returned True.
    """
    if max_tiles < 1:
        raise ConfigError(f"max_tiles must be at least 1, got {max_tiles}", hint="Pass 1 or more.")
    inference = inference or InferenceConfig()
    reporter = Reporter(progress, cancel)
    prepared = read_prepared_split(prepared_dir, split, cell_size_m)
    thresholds = _pick_thresholds(thresholds_m, prepared, prepared_dir)
    out = ensure_writable_dir(out_dir)
    reporter.report(0.0, "loading the model")
    loaded = as_inference_model(model)
    backend = create_backend(loaded, inference.backend, inference.device)
    backend = bind_cell_size(backend, loaded, prepared.cell_size_m)
    kept = _every_kth(prepared.n_tiles, max_tiles)
    mosaic: _Mosaic | None = None
    placed = 0
    index = -1
    for sample in iter_shards(prepared.shards):
        if prepared.tiles_per_cell_size_m and not _same_cell_size(sample, prepared.cell_size_m):
            continue
        index += 1
        if index not in kept:
            continue
        if mosaic is None:
            mosaic = _empty_mosaic(len(kept), sample.dsm_m.shape[0], thresholds)
        if sample.dsm_m.shape != (mosaic.tile_px, mosaic.tile_px):
            raise DataError(
                f"{prepared_dir}: tile {sample.key} is {sample.dsm_m.shape}, the others "
                f"{mosaic.tile_px} px square",
                hint="Prepare the data again with one data.tile_size_px.",
            )
        where = mosaic.place(placed)
        placed += 1
        mosaic.valid[where] = sample.valid
        _score_tile(sample, mosaic, where, thresholds, prepared, loaded, backend, inference)
        reporter.report(0.8 * placed / len(kept), f"tile {placed}/{len(kept)}")
    if mosaic is None:
        raise DataError(f"{prepared_dir}: the {split!r} split holds no readable tile")
    cell_m = prepared.cell_size_m
    grid = Grid(None, Affine(cell_m, 0.0, 0.0, 0.0, -cell_m, 0.0), *mosaic.valid.shape)
    scores: list[MethodScores] = []
    error_maps: list[Path] = []
    for name, masks in (("model", mosaic.model_masks), (DSM_ONLY, mosaic.baseline_masks)):
        for t in thresholds:
            reference = mosaic.reference[t]
            probability = mosaic.model_probability[t] if name == "model" else None
            scores.append(
                score_prediction(name, t, reference, masks[t], mosaic.valid, grid, (), probability)
            )
            error_maps.append(
                error_map_png(
                    out / f"error_{name}_t{t:g}.png",
                    reference,
                    masks[t],
                    mosaic.valid,
                    f"{name}, {t:g} m: errors on {placed} {split} tiles",
                )
            )
    reporter.report(0.95, "writing the report")
    notes = [
        "Each tile is predicted alone, as one window (no neighbours, no blending), and the "
        "DSM-only baseline estimates the ground from that tile alone: whole-site scores "
        "(`forestgaps evaluate --dsm --chm`) are the figures to quote.",
        "Tiles are laid side by side with a 1-cell nodata gutter, so no gap spans two "
        "tiles; the 100 m grid cells of the gap-fraction scores may.",
        "The labels' area bounds were applied to whole sites, the predictions' to single "
        "tiles: a patch too large for the gap rule on its site may fit inside one tile and "
        "count as a false gap.",
    ]
    model_cell_m = float(loaded.card.resolution_m or prepared.cell_size_m)
    # predict would warp tiles outside the model's native range; here they are scored as
    # they are, with the same tolerance predict uses to decide.
    if not within_native_range(prepared.cell_size_m, *native_range_m(loaded.card)):
        notes.append(f"The model was trained at {model_cell_m:g} m and the tiles are at "
                     f"{prepared.cell_size_m:g} m; tiles are not resampled here.")  # fmt: skip
        logger.warning("%s", notes[-1])
    if prepared.tiles_per_cell_size_m:
        others = ", ".join(
            f"{cell_m:g} m ({n} tiles)"
            for cell_m, n in prepared.tiles_per_cell_size_m.items()
            if cell_m != prepared.cell_size_m
        )
        notes.append(f"The split's sites have several cell sizes; these scores are for its "
                     f"{prepared.cell_size_m:g} m tiles. Others: {others} (pick one with "
                     "--cell-size).")  # fmt: skip
    if placed < prepared.n_tiles:
        notes.append(f"{placed} of the split's {prepared.n_tiles} tiles, spread evenly, were "
                     "scored (raise --max-tiles for more).")  # fmt: skip
    context = {
        "inputs": {
            "prepared data": str(prepared_dir),
            "split": f"{split}: {placed} of {prepared.n_tiles} tiles of {mosaic.tile_px} px "
            f"at {prepared.cell_size_m:g} m",
            "thresholds (m)": ", ".join(f"{t:g}" for t in thresholds),
            "gap rule": f"as prepared: height <= threshold, 8-connected, labelled on whole "
            f"sites, {prepared.min_area_m2:g} <= area <= {prepared.max_area_m2:g} m²; "
            "the model's and the baseline's patches bounded the same way per tile",
            "model": f"{loaded.card.architecture} `{loaded.card.model_id}`, backend {backend.name}",
            "methods": f"model, {DSM_ONLY}",
        },
        "notes": notes,
    }
    files = write_report(out, scores, context, error_maps)
    reporter.report(1.0, "done")
    return EvaluationResult(out, tuple(scores), files, tuple(notes))


def _pick_thresholds(
    thresholds_m: Sequence[float] | None, prepared: PreparedSplit, prepared_dir: str | Path
) -> list[float]:
    if thresholds_m is None:
        return list(prepared.thresholds_m)
    thresholds = validate_thresholds(thresholds_m)
    missing = [t for t in thresholds if t not in prepared.thresholds_m]
    if missing:
        raise ConfigError(
            f"{prepared_dir}: no labels at {', '.join(f'{t:g}' for t in missing)} m; the tiles "
            f"were labelled at {', '.join(f'{t:g}' for t in prepared.thresholds_m)} m",
            hint="Pick prepared thresholds, or prepare again with them in gaps.thresholds_m.",
        )
    return thresholds


def _score_tile(
    sample: Any,
    mosaic: _Mosaic,
    where: tuple[slice, slice],
    thresholds: list[float],
    prepared: PreparedSplit,
    loaded: Any,
    backend: Any,
    inference: InferenceConfig,
) -> None:
    """Fill one tile's reference, model and baseline cells of every threshold."""
    valid = sample.valid.astype(bool)
    cell_area_m2 = prepared.cell_size_m**2
    probabilities = predict_windows(
        sample.dsm_m[None, None].astype(np.float32),
        valid[None, None],
        np.asarray(thresholds, dtype=np.float32),
        loaded.normalizer,
        backend,
    )[0]
    dsm_m = np.where(valid, sample.dsm_m, np.nan)
    baseline = dsm_only_masks(
        dsm_m, valid, prepared.cell_size_m, thresholds, prepared.min_area_m2, prepared.max_area_m2
    )
    for index, t in enumerate(thresholds):
        if t not in sample.masks:
            raise DataError(f"tile {sample.key} has no mask at {t:g} m")
        mosaic.reference[t][where] = (sample.masks[t] > 0) & valid
        probability = np.where(valid, probabilities[index], np.nan).astype(np.float32)
        mosaic.model_probability[t][where] = probability
        is_gap = valid & (probabilities[index] >= inference.probability_cutoff)
        ids = label_mask_in_place(is_gap, cell_area_m2, prepared.min_area_m2, prepared.max_area_m2)
        mosaic.model_masks[t][where] = ids > 0
        mosaic.baseline_masks[t][where] = baseline[t]

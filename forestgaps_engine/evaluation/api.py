"""``evaluate``: score a model (or given masks) next to both baselines against CHM labels.

The reference is the ForestGapR detector on the true CHM (from a CHM file, or DSM - DTM)
on the DSM's grid. Every method is scored on the same valid cells (where both the CHM and
the DSM are valid); a prediction's own nodata inside them counts as "no gap". Outputs go
to ``out_dir`` (see ``report``), plus ``error_<method>_tT.png`` maps and the baseline masks
``baselines/<name>_mask_tT.tif``; all atomic.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import ConfigError, DataError
from forestgaps_engine.evaluation.baselines import (
    GROUND_SMOOTHING_M,
    GROUND_WINDOW_M,
    chm_threshold_baseline,
    dsm_only_masks,
)
from forestgaps_engine.evaluation.bias import (
    CANOPY_EDGES_M,
    SLOPE_EDGES_DEG,
    Strata,
    binned_strata,
    local_canopy_height_m,
    site_strata,
    slope_deg,
)
from forestgaps_engine.evaluation.plots import error_map_png
from forestgaps_engine.evaluation.reference import ReferenceSite, load_reference, read_on_grid
from forestgaps_engine.evaluation.report import REPORT_FILE, ReportFiles, write_report
from forestgaps_engine.evaluation.scoring import MethodScores, score_prediction
from forestgaps_engine.files import ensure_writable_dir, refuse_overwriting_inputs
from forestgaps_engine.gaps.thresholds import validate_thresholds
from forestgaps_engine.geo.raster_io import MASK_PROFILE, write_array
from forestgaps_engine.inference.api import output_paths as predict_output_paths
from forestgaps_engine.inference.api import predict
from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)

DSM_ONLY = "dsm_only_baseline"
CHM_CEILING = "chm_threshold_baseline"
BASELINE_NAMES = ("dsm_only", "chm_threshold")
PREDICTIONS_DIR = "model_predictions"
# Slopes, boundaries and 8-connected patches need a neighbour on every side of a cell.
MIN_SIDE_PX = 3


@dataclass(frozen=True)
class EvaluationResult:
    """What ``evaluate`` scored and wrote."""

    out_dir: Path
    scores: tuple[MethodScores, ...]
    files: ReportFiles
    notes: tuple[str, ...]

    def score(self, method: str, threshold_m: float) -> MethodScores:
        """The scores of one method at one threshold (KeyError if absent)."""
        for item in self.scores:
            if item.method == method and item.threshold_m == float(threshold_m):
                return item
        raise KeyError(f"no scores for {method!r} at {threshold_m:g} m")


def _strata(reference: ReferenceSite) -> list[Strata]:
    resolution_m = reference.grid.resolution_m[0]
    strata = [site_strata(reference.grid.shape, reference.site)]
    # load_reference gives a ground wherever a DSM or a DTM is given (DTM, else DSM - CHM).
    if reference.ground_m is not None:
        slope = slope_deg(reference.ground_m, resolution_m)
        strata.append(binned_strata("slope", slope, SLOPE_EDGES_DEG, "deg"))
    canopy = local_canopy_height_m(np.where(reference.valid, reference.chm_m, np.nan), resolution_m)
    strata.append(binned_strata("canopy_height", canopy, CANOPY_EDGES_M, "m"))
    return strata


def _same_area_rule(inference: Any, gaps: GapsConfig) -> Any:
    """The model's inference settings with the gap rule's area bounds.

    The reference and the baselines keep patches of ``gaps.min_area_m2 <= area <=
    gaps.max_area_m2``; a model predicts cells, and its patches go through the same bounds,
    so that the comparison is about which cells are gaps, not about two area filters.
    """
    inference = inference or InferenceConfig()
    return inference.model_copy(
        update={"min_gap_area_m2": gaps.min_area_m2, "max_gap_area_m2": gaps.max_area_m2}
    )


def _model_predictions(
    reference: ReferenceSite,
    model: Any,
    thresholds: list[float],
    out: Path,
    inference: Any,
    reporter: Reporter,
    cancel: CancelCallback | None,
    notes: list[str],
    terrain_prior: str | Path | None = None,
) -> dict[float, tuple[np.ndarray, np.ndarray | None]] | None:
    if reference.dsm_path is None:
        raise ConfigError(
            "a model needs the DSM it predicts from, but only a CHM was given",
            hint="Pass --dsm DSM.tif with --chm (or --dtm).",
        )
    if str(model) == "default" and not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        notes.append(
            "No default model is installed yet: only the baselines were evaluated "
            "(pass --model PATH to score a trained model)."
        )
        logger.warning("no default model installed; evaluating the baselines alone")
        return None
    result = predict(
        reference.dsm_path,
        thresholds,
        model,
        out / PREDICTIONS_DIR,
        inference,
        progress=reporter.report,
        cancel=cancel,
        terrain_prior=terrain_prior,
    )
    return {
        item.threshold_m: (
            read_on_grid(item.mask_path, reference.grid, is_mask=True),
            read_on_grid(item.probability_path, reference.grid, is_mask=False),
        )
        for item in result.thresholds
    }


def _given_masks(
    reference: ReferenceSite, masks: Mapping[float, str | Path], thresholds: list[float]
) -> dict[float, tuple[np.ndarray, np.ndarray | None]]:
    by_threshold = {float(key): Path(value) for key, value in masks.items()}
    missing = [t for t in thresholds if t not in by_threshold]
    if missing:
        raise ConfigError(
            f"no prediction mask given for threshold(s) {', '.join(f'{t:g}' for t in missing)} m "
            f"(masks given for {', '.join(f'{t:g}' for t in sorted(by_threshold))} m)",
            hint="Give one gap_mask_tT.tif per evaluated threshold, or drop those thresholds.",
        )
    loaded = {}
    for t in thresholds:
        path = by_threshold[t]
        probability_path = path.with_name(path.name.replace("gap_mask_", "gap_probability_"))
        has_probability = probability_path != path and probability_path.is_file()
        loaded[t] = (
            read_on_grid(path, reference.grid, is_mask=True),
            read_on_grid(probability_path, reference.grid, is_mask=False)
            if has_probability
            else None,
        )
    return loaded


def evaluate(
    reference: str | Path | tuple[str | Path, str | Path] | Mapping[str, str | Path],
    predictions: Mapping[float, str | Path] | str | Path | Any | None = None,
    thresholds_m: Sequence[float] | float | None = None,
    out_dir: str | Path = "out/evaluate",
    gaps: GapsConfig | None = None,
    inference: Any = None,
    method_name: str = "model",
    site: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    terrain_prior: str | Path | None = None,
) -> EvaluationResult:
    """Score a model or masks next to the DSM-only baseline and the CHM ceiling.

    Args:
        reference: a CHM path; a (DSM, CHM) pair; or a mapping with ``dsm`` and one of
            ``chm`` / ``dtm`` (CHM = DSM - DTM). Labels use ForestGapR's rule on the CHM.
        predictions: threshold (m) -> gap mask path (uint8 1 gap, 0 not, 255 nodata; a
            sibling ``gap_probability_tT.tif`` is used for the PR curve); a model (folder,
            ``"default"`` or ``LoadedModel``), predicted here with ``inference.predict``;
            a baseline name (``dsm_only`` / ``chm_threshold``) or None: baselines alone.
        thresholds_m: thresholds to score; default: the mapping's keys or ``gaps``'s.
        out_dir: output folder (created).
        gaps: area bounds of the gap rule (default ``GapsConfig()``).
        inference: ``InferenceConfig`` for the model's prediction.
        method_name: the name of the scored model/masks in tables.
        site: site name in the bias table (default: the DSM or CHM file stem).
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop (raises CancelledError).
        terrain_prior: a coarse DEM for a model trained with one (``predict
            --terrain-prior``).

    Returns:
        Scores of every method and threshold, and the files written.

    Raises:
        ConfigError: bad thresholds, a missing mask, a model without a DSM.
        InvalidDataFormatError, EmptyRasterError, CRSMismatchError, DataError: bad rasters.
        ModelError, InferenceError: the model cannot be loaded or run.
        CancelledError: ``cancel()`` returned True.
    """
    gaps = gaps or GapsConfig()
    reporter = Reporter(progress, cancel)
    if thresholds_m is None:
        thresholds_m = list(predictions) if isinstance(predictions, Mapping) else gaps.thresholds_m
    thresholds = validate_thresholds(thresholds_m)
    reporter.report(0.0, "reading the reference")
    ref = load_reference(reference, site)
    _check_size(ref)
    masks = list(predictions.values()) if isinstance(predictions, Mapping) else []
    refuse_overwriting_inputs(
        [*ref.paths.values(), *masks], _output_paths(Path(out_dir), thresholds)
    )
    out = ensure_writable_dir(out_dir)
    notes: list[str] = [
        f"`{CHM_CEILING}` is ForestGapR on the true CHM: identical to the labels on this grid "
        "by construction, so it scores 1.0. It is the ceiling, not a competitor."
    ]
    methods: list[tuple[str, dict[float, tuple[np.ndarray, np.ndarray | None]]]] = []
    is_baseline_only = predictions is None or (
        isinstance(predictions, str) and predictions in BASELINE_NAMES
    )
    if isinstance(predictions, Mapping):
        methods.append((method_name, _given_masks(ref, predictions, thresholds)))
    elif not is_baseline_only:
        predictions_dir = out / PREDICTIONS_DIR
        had_predictions = predictions_dir.exists()
        try:
            predicted = _model_predictions(
                ref,
                predictions,
                thresholds,
                out,
                _same_area_rule(inference, gaps),
                reporter.sub(0.05, 0.45),
                cancel,
                notes,
                terrain_prior,
            )
        except BaseException:
            # predict removed its own files; the folder this call made goes too, if empty.
            if not had_predictions:
                with contextlib.suppress(OSError):
                    predictions_dir.rmdir()
            raise
        if predicted is not None:
            methods.append((method_name, predicted))
    reporter.check()
    resolution_m = ref.grid.resolution_m[0]
    if ref.dsm_m is not None:
        baseline = dsm_only_masks(
            ref.dsm_m, ref.valid, resolution_m, thresholds, gaps.min_area_m2, gaps.max_area_m2
        )
        methods.append((DSM_ONLY, {t: (mask, None) for t, mask in baseline.items()}))
    else:
        notes.append(f"No DSM given: `{DSM_ONLY}` cannot run and is left out.")
    reference_ids = {
        t: chm_threshold_baseline(
            ref.chm_m, t, ref.grid.cell_area_m2, gaps.min_area_m2, gaps.max_area_m2
        )
        for t in thresholds
    }
    methods.append((CHM_CEILING, {t: (reference_ids[t] > 0, None) for t in thresholds}))
    strata = _strata(ref)
    scores: list[MethodScores] = []
    error_maps: list[Path] = []
    n_steps = len(methods) * len(thresholds)
    for index, (name, predicted) in enumerate(methods):
        for t_index, t in enumerate(thresholds):
            reporter.report(
                0.5 + 0.45 * (index * len(thresholds) + t_index) / n_steps,
                f"scoring {name} at {t:g} m",
            )
            mask, probability = predicted[t]
            scores.append(
                score_prediction(
                    name, t, reference_ids[t], mask, ref.valid, ref.grid, strata, probability
                )
            )
            if name == DSM_ONLY:
                _write_mask(out / "baselines" / f"dsm_only_mask_t{t:g}.tif", mask, ref)
            if name != CHM_CEILING:
                error_maps.append(
                    error_map_png(
                        out / f"error_{name}_t{t:g}.png",
                        reference_ids[t],
                        mask,
                        ref.valid,
                        f"{name}, {t:g} m: errors against the CHM labels",
                    )
                )
    reporter.report(0.95, "writing the report")
    context = {
        "inputs": {
            "site": ref.site,
            "reference": ref.description,
            "grid": f"{ref.grid.crs}, {ref.grid.width_px} x {ref.grid.height_px} px at "
            f"{resolution_m:g} m",
            "thresholds (m)": ", ".join(f"{t:g}" for t in thresholds),
            "gap rule": f"height <= threshold, 8-connected, {gaps.min_area_m2:g} <= area <= "
            f"{gaps.max_area_m2:g} m²",
            "DSM-only baseline": f"grey opening {GROUND_WINDOW_M:g} m, Gaussian "
            f"{GROUND_SMOOTHING_M:g} m",
            "methods": ", ".join(name for name, _ in methods),
        },
        "notes": notes,
    }
    files = write_report(out, scores, context, error_maps)
    reporter.report(1.0, "done")
    return EvaluationResult(out, tuple(scores), files, tuple(notes))


def _check_size(ref: ReferenceSite) -> None:
    """Refuse a grid too small to score before anything is predicted or written.

    Raises:
        DataError: a side of the evaluation grid under ``MIN_SIDE_PX`` cells.
    """
    height_px, width_px = ref.grid.shape
    if min(height_px, width_px) < MIN_SIDE_PX:
        source = ref.dsm_path or ref.description
        raise DataError(
            f"{source}: {width_px} x {height_px} cells is too small to evaluate (at least "
            f"{MIN_SIDE_PX} x {MIN_SIDE_PX} are needed)",
            hint="Pass a DSM and reference covering a real stand (hundreds of cells a side).",
        )


def _output_paths(out: Path, thresholds: Sequence[float]) -> list[Path]:
    """The rasters and reports ``evaluate`` writes whose names are known before it runs."""
    masks = [out / "baselines" / f"dsm_only_mask_t{t:g}.tif" for t in thresholds]
    return [out / "evaluation.json", out / REPORT_FILE, *masks] + predict_output_paths(
        out / PREDICTIONS_DIR, thresholds
    )


def _write_mask(target: Path, mask: np.ndarray, ref: ReferenceSite) -> None:
    values = np.where(ref.valid, mask.astype(np.uint8), MASK_PROFILE.nodata).astype(np.uint8)
    write_array(target, values, ref.grid, MASK_PROFILE)

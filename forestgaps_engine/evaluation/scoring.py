"""Every score of one method at one threshold, from arrays on one grid.

This is the in-memory core that ``evaluate`` (files), the benchmark and tests share: pixel
scores (``metrics``), objects by size, boundary F1, coarse-grid gap fractions, size
laws, bias tables and, when a probability raster exists, the precision-recall curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forestgaps_engine.evaluation.bias import BiasRow, Strata, bias_rows
from forestgaps_engine.evaluation.curves import PrecisionRecallCurve, precision_recall_curve
from forestgaps_engine.evaluation.size_frequency import SizeFrequency, size_frequency
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.metrics.boundary import BoundaryScores, boundary_scores
from forestgaps_engine.metrics.grid import GridScores, grid_scores
from forestgaps_engine.metrics.objects import ObjectScores, as_objects, object_scores
from forestgaps_engine.metrics.pixel import ConfusionCounts, confusion_counts


@dataclass(frozen=True)
class MethodScores:
    """All scores of one method at one threshold."""

    method: str
    threshold_m: float
    pixel: ConfusionCounts
    objects: ObjectScores
    boundary: BoundaryScores
    grid: GridScores
    size_frequency: SizeFrequency
    bias: tuple[BiasRow, ...]
    pr_curve: PrecisionRecallCurve | None = None

    def metrics_row(self) -> dict[str, Any]:
        """One flat row of ``metrics.csv``."""
        sizes = self.size_frequency
        return {
            "method": self.method,
            "threshold_m": self.threshold_m,
            **self.pixel.scores(),
            **self.pixel.to_dict(),
            "object_precision": self.objects.overall.precision,
            "object_recall": self.objects.overall.recall,
            "object_f1": self.objects.overall.f1,
            "object_mean_matched_iou": self.objects.mean_matched_iou,
            "n_reference_gaps": self.objects.overall.n_reference,
            "n_predicted_gaps": self.objects.overall.n_predicted,
            "boundary_precision": self.boundary.precision,
            "boundary_recall": self.boundary.recall,
            "boundary_f1": self.boundary.f1,
            "boundary_tolerance_px": self.boundary.tolerance_px,
            "grid_cell_m": self.grid.cell_size_m,
            "grid_n_cells": self.grid.n_cells,
            "grid_r2": self.grid.r2,
            "grid_rmse": self.grid.rmse,
            "grid_bias": self.grid.bias,
            "lambda_hanel_reference": sizes.hanel_reference,
            "lambda_hanel_predicted": sizes.hanel_predicted,
            "lambda_asner_reference": sizes.asner_reference,
            "lambda_asner_predicted": sizes.asner_predicted,
            "average_precision": None if self.pr_curve is None else self.pr_curve.average_precision,
        }


def score_prediction(
    method: str,
    threshold_m: float,
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray,
    grid: Grid,
    strata: Sequence[Strata] = (),
    probability: np.ndarray | None = None,
) -> MethodScores:
    """Score one prediction against the reference.

    Args:
        method: name shown in tables.
        threshold_m: the gap height threshold both maps belong to.
        reference: (H, W) reference gap ids (``label_gaps``) or mask.
        predicted: (H, W) predicted gap mask (bool/0-1) or ids.
        valid: (H, W) bool cells scored; outside, neither map has gaps.
        grid: where the cells lie (areas and 100 m cells need it).
        strata: breakdowns for the bias table.
        probability: (H, W) gap probability (NaN = nodata) for the PR curve.
    """
    valid = np.asarray(valid, dtype=bool)
    reference_ids = as_objects(reference, valid)
    predicted_ids = as_objects(predicted, valid)
    ref_mask, pred_mask = reference_ids > 0, predicted_ids > 0
    cell_area_m2 = grid.cell_area_m2
    return MethodScores(
        method=method,
        threshold_m=float(threshold_m),
        pixel=confusion_counts(pred_mask, ref_mask, valid),
        objects=object_scores(reference_ids, predicted_ids, cell_area_m2),
        boundary=boundary_scores(ref_mask, pred_mask, valid),
        grid=grid_scores(ref_mask, pred_mask, valid, grid),
        size_frequency=size_frequency(reference_ids, predicted_ids, cell_area_m2),
        bias=tuple(bias_rows(ref_mask, pred_mask, valid, strata)),
        pr_curve=None
        if probability is None
        else precision_recall_curve(probability, ref_mask, valid),
    )

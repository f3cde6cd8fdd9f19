"""Baselines: the CHM ceiling equals the labels; the DSM-only baseline beats naive thresholding."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.evaluation.baselines import (
    chm_threshold_baseline,
    dsm_only_baseline,
    estimate_ground_m,
    naive_dsm_threshold,
)
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.metrics.pixel import confusion_counts
from forestgaps_engine.synth.forest import generate_forest

# Evaluation seeds: disjoint from the tuning seeds 1000-1005 of the baseline defaults.
EVAL_SEEDS = (0, 1)


@pytest.fixture(scope="module")
def forests() -> list:
    return [generate_forest(192, seed=seed, nodata_holes=True) for seed in EVAL_SEEDS]


def test_ground_of_a_tilted_plane_with_a_gap_is_the_plane() -> None:
    rows, cols = np.mgrid[0:120, 0:120].astype(np.float32)
    ground = 300.0 + 0.3 * cols + 0.1 * rows  # about 18 degrees
    canopy = np.full(ground.shape, 25.0, dtype=np.float32)
    canopy[50:70, 50:70] = 0.0  # a 20 m gap reaching the ground
    canopy[10:22, 90:102] = 0.0
    canopy[95:108, 15:28] = 0.0
    dsm = ground + canopy
    valid = np.ones(dsm.shape, dtype=bool)
    estimate = estimate_ground_m(dsm, valid, 1.0, window_m=40.0, smoothing_m=0.0)
    assert np.abs(estimate - ground)[55:65, 55:65].max() < 1e-3
    assert np.all(estimate <= dsm + 1e-4)
    ids = dsm_only_baseline(dsm, valid, 1.0, 2.0, window_m=40.0, smoothing_m=0.0)
    assert (ids > 0)[50:70, 50:70].all()


def test_ground_keeps_nodata_out() -> None:
    forest = generate_forest(96, seed=3, nodata_holes=True)
    estimate = estimate_ground_m(forest.dsm_m, forest.valid, 1.0)
    assert np.isnan(estimate[~forest.valid]).all()
    assert np.isfinite(estimate[forest.valid]).all()
    assert np.all(estimate[forest.valid] <= forest.dsm_m[forest.valid] + 1e-4)


def test_chm_ceiling_equals_the_labels(forests: list) -> None:
    for forest in forests:
        labels = label_gaps(forest.chm_m, 5.0, 1.0, 1.0, 10000.0)
        ceiling = chm_threshold_baseline(forest.chm_m, 5.0, 1.0)
        assert confusion_counts(ceiling > 0, labels > 0, forest.valid).iou == 1.0


@pytest.mark.parametrize("threshold_m", [2.0, 5.0, 10.0])
def test_dsm_only_beats_naive_thresholding(forests: list, threshold_m: float) -> None:
    for forest in forests:
        labels = label_gaps(forest.chm_m, threshold_m, 1.0, 1.0, 10000.0) > 0
        baseline = dsm_only_baseline(forest.dsm_m, forest.valid, 1.0, threshold_m) > 0
        naive = naive_dsm_threshold(forest.dsm_m, forest.valid, 1.0, threshold_m) > 0
        baseline_iou = confusion_counts(baseline, labels, forest.valid).iou
        naive_iou = confusion_counts(naive, labels, forest.valid).iou
        assert baseline_iou > naive_iou + 0.2
        assert baseline_iou > 0.5

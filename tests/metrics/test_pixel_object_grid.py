"""Hand-made masks with known answers: object matching, size classes, boundary F1, grid."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.evaluation.curves import precision_recall_curve
from forestgaps_engine.evaluation.size_frequency import size_frequency
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.metrics.boundary import boundary_scores, gap_boundary
from forestgaps_engine.metrics.grid import cell_fractions, grid_scores
from forestgaps_engine.metrics.objects import (
    match_objects,
    object_scores,
    size_class_labels,
)


def _square(mask: np.ndarray, row: int, col: int, side: int) -> None:
    mask[row : row + side, col : col + side] = True


def test_matching_needs_iou_of_one_half() -> None:
    reference = np.zeros((20, 20), dtype=np.int32)
    reference[0:4, 0:4] = 1  # 16 px
    reference[10:14, 10:14] = 2  # 16 px
    predicted = np.zeros_like(reference)
    predicted[0:4, 0:2] = 1  # 8 px inside gap 1: IoU 8/16 = 0.5 -> match
    predicted[10:14, 10:11] = 2  # 4 px inside gap 2: IoU 0.25 -> no match
    match = match_objects(reference, predicted, cell_area_m2=1.0)
    assert match.pairs.tolist() == [[1, 1]]
    assert match.pair_iou.tolist() == [0.5]
    assert match.reference_area_m2.tolist() == [16.0, 16.0]


def test_tie_at_one_half_matches_one_to_one() -> None:
    reference = np.zeros((4, 8), dtype=np.int32)
    reference[:, 0:4] = 1
    predicted = np.zeros_like(reference)
    predicted[0:2, 0:4] = 1  # each half of the gap has IoU exactly 0.5
    predicted[3:4, 0:4] = 2
    predicted[2:3, 0:4] = 2
    match = match_objects(reference, predicted, 1.0)
    assert len(match.pairs) == 1
    assert match.is_reference_matched.tolist() == [True]
    assert match.is_predicted_matched.sum() == 1


def test_object_scores_by_size_class() -> None:
    reference = np.zeros((60, 60), dtype=bool)
    predicted = np.zeros_like(reference)
    _square(reference, 0, 0, 5)  # 25 m2 -> <50, found
    _square(predicted, 0, 0, 5)
    _square(reference, 0, 20, 8)  # 64 m2 -> 50-100, missed
    _square(reference, 20, 0, 15)  # 225 m2 -> 100-500, found (slightly smaller)
    _square(predicted, 20, 0, 14)
    _square(predicted, 45, 45, 3)  # 9 m2 false gap -> <50
    scores = object_scores(reference.astype(np.uint8), predicted, cell_area_m2=1.0)
    assert size_class_labels() == ["<50", "50-100", "100-500", ">=500"]
    by_size = {row.size_class: row for row in scores.by_size}
    assert (by_size["<50"].n_reference, by_size["<50"].n_reference_matched) == (1, 1)
    assert (by_size["<50"].n_predicted, by_size["<50"].n_predicted_matched) == (2, 1)
    assert by_size["50-100"].recall == 0.0 and by_size["50-100"].precision is None
    assert by_size["100-500"].f1 == 1.0
    assert by_size[">=500"].recall is None and by_size[">=500"].f1 is None
    assert scores.overall.recall == pytest.approx(2 / 3)
    assert scores.overall.precision == pytest.approx(2 / 3)
    assert scores.mean_matched_iou == pytest.approx((1.0 + 196 / 225) / 2)


def test_cell_area_sets_the_size_class() -> None:
    reference = np.zeros((30, 30), dtype=bool)
    _square(reference, 0, 0, 5)  # 25 px at 0.25 m2 = 6.25 m2; at 4 m2 = 100 m2
    assert object_scores(reference, reference, 0.25).by_size[0].n_reference == 1
    assert object_scores(reference, reference, 4.0).by_size[2].n_reference == 1


def test_boundary_ignores_nodata_and_raster_edges() -> None:
    gap = np.zeros((10, 10), dtype=bool)
    gap[:, 0:4] = True  # touches the top, bottom and left raster edges
    edge = gap_boundary(gap)
    assert edge[:, 3].all() and edge.sum() == 10
    valid = np.ones_like(gap)
    valid[:, 4] = False  # a nodata column beside the gap: no observable edge
    assert not gap_boundary(gap, valid).any()


def test_boundary_f1_tolerance() -> None:
    reference = np.zeros((30, 30), dtype=bool)
    reference[5:25, 5:15] = True
    shifted_2 = np.roll(reference, 2, axis=1)
    shifted_3 = np.roll(reference, 3, axis=1)
    assert boundary_scores(reference, reference).f1 == 1.0
    assert boundary_scores(reference, shifted_2, tolerance_px=2).f1 == 1.0
    scores = boundary_scores(reference, shifted_3, tolerance_px=2)
    assert 0.0 < scores.f1 < 1.0
    # Rows at the top and bottom still overlap within 2 px; the vertical edges do not.
    assert scores.n_reference_px == 2 * 20 + 2 * 8
    empty = boundary_scores(reference, np.zeros_like(reference))
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 0.0, 0.0)


def _grid(resolution_m: float, size_px: int, origin: tuple[float, float]) -> Grid:
    transform = Affine(resolution_m, 0, origin[0], 0, -resolution_m, origin[1])
    return Grid("EPSG:2154", transform, size_px, size_px)


def test_grid_fractions_r2_rmse_bias() -> None:
    grid = _grid(10.0, 20, (1000.0, 2000.0))  # 200 m x 200 m = 2 x 2 cells of 100 m
    reference = np.zeros((20, 20), dtype=bool)
    reference[0:10, 0:5] = True  # top-left cell: 50 %
    reference[10:20, 10:20] = True  # bottom-right: 100 %
    predicted = reference.copy()
    predicted[0:10, 10:12] = True  # top-right: 20 % predicted, 0 % reference
    valid = np.ones_like(reference)
    fractions = cell_fractions(reference, predicted, valid, grid)
    assert sorted(fractions.reference.tolist()) == [0.0, 0.0, 0.5, 1.0]
    scores = grid_scores(reference, predicted, valid, grid)
    errors = np.array([0.0, 0.0, 0.2, 0.0])
    reference_values = np.array([0.5, 0.0, 0.0, 1.0])
    ss_tot = float(np.sum((reference_values - reference_values.mean()) ** 2))
    assert scores.n_cells == 4
    assert scores.bias == pytest.approx(0.05)
    assert scores.rmse == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert scores.r2 == pytest.approx(1 - 0.04 / ss_tot)


def test_grid_cells_follow_the_crs_lattice_and_skip_sparse_cells() -> None:
    # Origin at x = 1050: the raster straddles two 100 m columns, half of each.
    grid = _grid(10.0, 10, (1050.0, 2000.0))
    reference = np.zeros((10, 10), dtype=bool)
    reference[:, 0:5] = True
    valid = np.ones_like(reference)
    fractions = cell_fractions(reference, reference, valid, grid)
    assert sorted(fractions.reference.tolist()) == [0.0, 1.0]
    valid[:, 5:] = False
    valid[:, 0] = False  # 40 of 100 px left in the first cell: under the 50 % floor
    assert cell_fractions(reference, reference, valid, grid).reference.size == 0
    assert grid_scores(reference, reference, valid, grid).r2 is None


def test_size_frequency_of_identical_maps_agree() -> None:
    mask = np.zeros((50, 50), dtype=bool)
    for index, side in enumerate((2, 3, 5, 8)):
        _square(mask, 12 * index, 12 * index, side)
    result = size_frequency(mask, mask, 1.0)
    assert result.n_reference == result.n_predicted == 4
    assert result.hanel_reference == result.hanel_predicted is not None
    assert size_frequency(mask, np.zeros_like(mask), 1.0).hanel_predicted is None


def test_precision_recall_curve_counts() -> None:
    reference = np.array([[1, 1, 0, 0]], dtype=bool)
    probability = np.array([[0.95, 0.4, 0.6, 0.1]], dtype=np.float32)
    curve = precision_recall_curve(probability, reference, np.ones_like(reference), n_bins=10)
    at = dict(zip(curve.cutoffs, curve.counts, strict=True))
    assert at[0.5].to_dict() == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    assert at[0.2].to_dict() == {"tp": 2, "fp": 1, "fn": 0, "tn": 1}
    assert max(curve.cutoffs) == 0.9  # nothing reaches 1.0: no precision to draw
    assert 0.0 < curve.average_precision <= 1.0

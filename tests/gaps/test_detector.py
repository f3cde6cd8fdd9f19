"""label_gaps on hand-made arrays: every rule of ForestGapR's getForestGaps."""

from __future__ import annotations

import numpy as np

from forestgaps_engine.gaps.detector import label_gaps

TALL = 30.0


def test_threshold_is_inclusive() -> None:
    height_m = np.full((3, 3), TALL, dtype=np.float32)
    height_m[1, 1] = 10.0
    assert label_gaps(height_m, 10.0, 1.0, 1.0, 100.0)[1, 1] == 1
    assert label_gaps(height_m, 9.99, 1.0, 1.0, 100.0).max() == 0


def test_float32_heights_compare_as_doubles() -> None:
    # float32(2.7) is slightly above 2.7 in double; R compares doubles, so no gap.
    height_m = np.full((2, 2), np.float32(2.7), dtype=np.float32)
    assert label_gaps(height_m, 2.7, 1.0, 1.0, 100.0).max() == 0
    assert label_gaps(height_m, float(np.float32(2.7)), 1.0, 1.0, 100.0).max() == 1


def test_diagonal_cells_form_one_gap() -> None:
    height_m = np.full((4, 4), TALL)
    height_m[0, 0] = height_m[1, 1] = height_m[2, 2] = 1.0
    labels = label_gaps(height_m, 5.0, 1.0, 1.0, 100.0)
    assert labels[0, 0] == labels[1, 1] == labels[2, 2] == 1
    assert labels.max() == 1


def test_nan_is_never_gap_and_separates_patches() -> None:
    height_m = np.array([[1.0, np.nan, 1.0], [TALL, np.nan, TALL], [np.nan, np.nan, np.nan]])
    labels = label_gaps(height_m, 5.0, 1.0, 1.0, 100.0)
    np.testing.assert_array_equal(labels, [[1, 0, 2], [0, 0, 0], [0, 0, 0]])


def test_area_bounds_are_inclusive_and_use_cell_area() -> None:
    height_m = np.full((5, 9), TALL)
    height_m[0, 0] = 0.0  # 1 cell = 0.25 m2
    height_m[0, 2:4] = 0.0  # 2 cells = 0.5 m2
    height_m[0, 5:8] = 0.0  # 3 cells = 0.75 m2
    labels = label_gaps(height_m, 1.0, 0.25, 0.5, 0.5)
    assert labels.max() == 1
    assert set(np.flatnonzero(labels.ravel() == 1)) == {2, 3}
    assert label_gaps(height_m, 1.0, 0.25, 0.25, 0.75).max() == 3
    assert label_gaps(height_m, 1.0, 0.25, 0.26, 0.74).max() == 1


def test_ids_follow_row_major_order_of_first_cell_after_filtering() -> None:
    height_m = np.full((5, 6), TALL)
    height_m[0, 0] = 0.0  # first in scan order, but dropped (1 cell < 2 m2)
    height_m[1, 3:5] = 0.0  # first cell (1, 3)
    height_m[2:4, 0] = 0.0  # first cell (2, 0), continues lower down
    height_m[4, 1] = 0.0  # diagonal to (3, 0): same gap
    height_m[3, 4:6] = 0.0  # first cell (3, 4)
    labels = label_gaps(height_m, 1.0, 1.0, 2.0, 100.0)
    assert labels[0, 0] == 0
    assert labels[1, 3] == 1
    assert labels[2, 0] == labels[4, 1] == 2
    assert labels[3, 4] == 3
    assert labels.dtype == np.int32


def test_no_gap_gives_zeros() -> None:
    labels = label_gaps(np.full((4, 5), TALL), 10.0, 1.0, 1.0, 100.0)
    assert labels.shape == (4, 5)
    assert labels.dtype == np.int32
    assert not labels.any()
    assert not label_gaps(np.full((2, 2), np.nan), 10.0, 1.0, 1.0, 100.0).any()

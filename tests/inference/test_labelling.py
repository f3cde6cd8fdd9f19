"""The in-place labelling numbers gaps exactly as the classic detector does."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.inference.postprocess import count_ids, label_mask_in_place


@pytest.mark.parametrize("min_area_m2", [0.0, 2.0, 9.0])
def testlabel_mask_in_place_equals_label_gaps(min_area_m2: float) -> None:
    rng = np.random.default_rng(3)
    is_gap = rng.random((300, 170)) > 0.62
    expected = label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, 0.5, min_area_m2, float("inf"))
    actual = label_mask_in_place(is_gap, 0.5, min_area_m2)
    assert actual.dtype == np.int32
    np.testing.assert_array_equal(actual, expected)
    assert actual.max() > 10


def test_count_ids_by_strips_equals_bincount() -> None:
    ids = np.random.default_rng(0).integers(0, 40, (1100, 30)).astype(np.int32)
    np.testing.assert_array_equal(count_ids(ids, 45), np.bincount(ids.ravel(), minlength=46))
    assert label_mask_in_place(np.zeros((4, 4), bool), 1.0, 0.0).max() == 0


@pytest.mark.parametrize("max_area_m2", [1.0, 3.0, 40.0])
def test_max_area_bound_equals_label_gaps(max_area_m2: float) -> None:
    rng = np.random.default_rng(5)
    is_gap = rng.random((200, 120)) > 0.6
    expected = label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, 0.5, 1.0, max_area_m2)
    actual = label_mask_in_place(is_gap, 0.5, 1.0, max_area_m2)
    np.testing.assert_array_equal(actual, expected)
    areas = np.bincount(actual.ravel())[1:] * 0.5
    assert areas.size > 3 and areas.max() <= max_area_m2

"""Nodata is filled with the nearest valid height for the model, never in the outputs."""

from __future__ import annotations

import numpy as np

from forestgaps_engine.data.fill import fill_nodata_nearest


def test_holes_take_the_nearest_valid_height_per_window() -> None:
    rows, cols = np.mgrid[0:20, 0:30].astype(np.float32)
    slope = (800.0 + 2.0 * rows + cols)[None, None]
    values = np.concatenate([slope, slope + 5.0, slope])
    valid = np.ones(values.shape, dtype=bool)
    valid[0, 0, 5:8, 10:12] = False
    values[0, 0, 5:8, 10:12] = np.nan
    valid[2] = False  # a window without any valid cell stays as it is

    filled, model_valid = fill_nodata_nearest(values, valid)

    hole = filled[0, 0, 5:8, 10:12]
    assert np.isfinite(hole).all()
    # each filled cell holds a height of a valid neighbour: within one step of the plane
    assert np.abs(hole - slope[0, 0, 5:8, 10:12]).max() <= 2.0 + 1.0
    assert model_valid[0].all() and model_valid[1].all() and not model_valid[2].any()
    np.testing.assert_array_equal(filled[1], values[1])
    np.testing.assert_array_equal(filled[0][valid[0]], values[0][valid[0]])
    assert np.isnan(values[0, 0, 6, 10]), "the caller's array is left untouched"


def test_all_valid_windows_are_returned_as_they_are() -> None:
    values = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    valid = np.ones(values.shape, dtype=bool)
    filled, model_valid = fill_nodata_nearest(values, valid)
    assert filled is values and model_valid is valid

"""Building blocks: crown stamping and metre-scaled random fields."""

from __future__ import annotations

import numpy as np

from forestgaps_engine.synth.noise import spectral_fields
from forestgaps_engine.synth.stamp import stamp_ellipses


def test_stamped_disc_has_the_right_area_and_peak():
    canvas = np.zeros((64, 64), dtype=np.float32)
    heights = np.array([20.0, 10.0], dtype=np.float32)
    stamp_ellipses(
        canvas,
        np.array([[32.0, 32.0], [32.0, 40.0]]),
        np.array([10.0, 4.0], dtype=np.float32),
        lambda distance, index: heights[index] * (1.0 - 0.5 * distance**2),
    )
    covered = canvas > 0
    assert abs(covered.sum() - np.pi * 10.0**2) < 0.06 * np.pi * 10.0**2
    assert abs(canvas.max() - 20.0) < 0.5
    # Max, not sum: where the small crown is under the big one, the big one wins.
    assert canvas[32, 40] < 20.0


def test_centres_outside_the_canvas_reach_in_without_error():
    canvas = np.zeros((16, 16), dtype=np.float32)
    stamp_ellipses(
        canvas,
        np.array([[-3.0, 8.0], [-40.0, 8.0]]),
        np.array([5.0, 5.0], dtype=np.float32),
        lambda distance, index: np.full(distance.shape, 1.0 + index, dtype=np.float32),
    )
    assert canvas[0, 8] == 1.0
    assert canvas[4, 8] == 0.0


def test_per_km_fields_hold_more_relief_over_larger_areas():
    small, _ = spectral_fields(
        (64, 64), 4.0, np.random.default_rng(0), 4.0, 20.0, 5000.0, per_km=True
    )
    large, _ = spectral_fields(
        (500, 500), 4.0, np.random.default_rng(0), 4.0, 20.0, 5000.0, per_km=True
    )
    assert small.std() < large.std()
    assert 0.3 < large.std() < 3.0

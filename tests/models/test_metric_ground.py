"""A relief model sized in metres has the DSM-only baseline's ground on every cell size (#24).

Its window counted cells: 41 cells are 20 m at 0.5 m and 82 m at 2 m, so the model's
starting rule was not the baseline's anywhere but at 1 m. With ``ground_window_m`` the
window and its Gaussian are metres, from the cell size of the windows given, and an
untrained model (zero correction) decides exactly as the baseline does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forestgaps_engine.evaluation.baselines import estimate_ground_m
from forestgaps_engine.models import create
from forestgaps_engine.models.blocks.ground import MetricRelief

METRIC = {
    "base_channels": 4,
    "depth": 2,
    "embedding_dim": 8,
    "fixed_height_unit": True,
    "ground_window_m": 12.0,
    "ground_smoothing_m": 1.5,
    "zero_init_correction": True,
    "correction_bound_m": 2.0,
}


def _hillside_forest(size_px: int, cell_m: float, seed: int = 0) -> np.ndarray:
    """(H, W) surface heights, metres: crowns and gaps on a slope with a ridge."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size_px, 0:size_px] * cell_m
    ground = 300.0 + 0.3 * cols + 8.0 * np.sin(rows / 25.0)
    canopy = 15.0 + 8.0 * rng.random((size_px, size_px))
    for _ in range(6):
        r, c = rng.uniform(0, size_px * cell_m, 2)
        radius_m = rng.uniform(2.0, 6.0)
        canopy[(rows - r) ** 2 + (cols - c) ** 2 <= radius_m**2] = rng.uniform(0.5, 4.0)
    return (ground + canopy).astype(np.float32)


@pytest.mark.parametrize("cell_m", [0.5, 1.0, 2.0])
def test_metric_relief_is_the_baselines_ground(cell_m: float) -> None:
    dsm = _hillside_forest(80, cell_m)
    ground = estimate_ground_m(dsm, np.ones(dsm.shape, bool), cell_m, 12.0, 1.5)
    relief = MetricRelief(12.0, 1.5)(torch.from_numpy(dsm).double()[None, None], [cell_m])
    np.testing.assert_allclose(relief[0, 0].numpy(), dsm - ground, atol=1e-4)


def test_mixed_cell_sizes_in_a_batch_match_one_at_a_time() -> None:
    tiles = np.stack([_hillside_forest(64, 0.5, 1), _hillside_forest(64, 2.0, 2)])[:, None]
    surface = torch.from_numpy(tiles)
    relief = MetricRelief(12.0, 1.5)
    together = relief(surface, [0.5, 2.0])
    torch.testing.assert_close(together[0:1], relief(surface[0:1], [0.5]))
    torch.testing.assert_close(together[1:2], relief(surface[1:2], [2.0]))
    assert not torch.allclose(together[1:2], relief(surface[1:2], [0.5]))


@pytest.mark.parametrize("cell_m", [0.5, 2.0])
@pytest.mark.parametrize("threshold_m", [2.0, 5.0])
# 83 px is padded to 96 for the trunk's stride: the padding must not reach the ground.
@pytest.mark.parametrize("size_px", [96, 83])
def test_untrained_metric_model_decides_as_the_baseline(
    cell_m: float, threshold_m: float, size_px: int
) -> None:
    torch.manual_seed(0)
    model = create("unet_film_relief", **METRIC).eval()
    model.calibrate_height_unit(1.0)  # inputs in metres: one unit is one metre
    model.set_cell_size_m(cell_m)
    dsm = _hillside_forest(size_px, cell_m)
    ground = estimate_ground_m(dsm, np.ones(dsm.shape, bool), cell_m, 12.0, 1.5)
    with torch.no_grad():
        logits = model(torch.from_numpy(dsm)[None, None], torch.tensor([threshold_m]))
    rule = (dsm - ground) <= threshold_m
    decided = logits[0, 0].numpy() >= 0
    # Cells whose relief lies within float32 rounding of the threshold may go either way.
    close = np.abs((dsm - ground) - threshold_m) < 1e-3
    assert np.array_equal(decided[~close], rule[~close])
    assert 0.02 < rule.mean() < 0.9


def test_cell_sizes_must_be_positive() -> None:
    from forestgaps_engine.errors import ModelError

    model = create("unet_film_relief", **METRIC)
    with pytest.raises(ModelError, match="positive metres"):
        model.set_cell_size_m(0.0)
    assert model.uses_cell_size
    assert not create("unet_film_relief", base_channels=4, depth=2).uses_cell_size


def test_metric_window_excludes_a_wide_window_in_cells() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        create("unet_film_relief", **METRIC, wide_window_px=41)

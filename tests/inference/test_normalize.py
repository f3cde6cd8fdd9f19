"""The NumPy normalization matches ``Normalizer.forward`` (the training-time module)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forestgaps_engine.errors import ModelError
from forestgaps_engine.inference.normalize import NumpyNormalizer
from forestgaps_engine.models.normalization import Normalizer


def _windows(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = (300.0 + rng.normal(0, 8.0, (5, 1, 37, 29))).astype(np.float32)
    valid = rng.random(values.shape) > 0.1
    values[1, 0, :5] = np.nan  # non-finite cells are invalid even when "valid" says yes
    valid[2] = False  # a window without valid cells
    valid[3] = True  # a window with every cell valid
    return values, valid


@pytest.mark.parametrize(
    ("strategy", "stats"),
    [
        ("robust_percentile", {"relief_range_m": 27.5}),
        ("minmax_tile", {}),
        ("zscore_global", {"mean_m": 290.0, "std_m": 12.0}),
    ],
)
def test_numpy_normalizer_matches_torch(strategy: str, stats: dict) -> None:
    values, valid = _windows()
    module = Normalizer(strategy, stats)
    with torch.inference_mode():
        expected = module(torch.from_numpy(values), torch.from_numpy(valid)).numpy()
    actual = NumpyNormalizer.from_dict(module.to_dict())(values, valid)
    assert actual.dtype == np.float32 and actual.shape == values.shape
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    assert not actual[2].any()


def test_numpy_normalizer_without_valid_mask_uses_finite_cells() -> None:
    values, _ = _windows(1)
    module = Normalizer("robust_percentile", {"relief_range_m": 10.0})
    with torch.inference_mode():
        expected = module(torch.from_numpy(values)).numpy()
    np.testing.assert_allclose(
        NumpyNormalizer.from_dict(module.to_dict())(values), expected, atol=1e-5, rtol=0
    )


def test_unknown_strategy_in_card_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="histogram"):
        NumpyNormalizer.from_dict({"strategy": "histogram"})

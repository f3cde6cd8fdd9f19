"""The terrain-prior input of unet_film_relief: shapes, the prior's effect, the card flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from forestgaps_engine.errors import ModelError
from forestgaps_engine.inference.normalize import NumpyNormalizer
from forestgaps_engine.models.blocks.ground import OpeningRelief
from forestgaps_engine.models.card import ModelCard, load_model, save_model
from forestgaps_engine.models.normalization import Normalizer

SMALL = {"ground_window_px": 11, "ground_smoothing_px": 3}


def test_prior_model_takes_two_bands_and_learns(build_tiny: Callable[..., nn.Module]) -> None:
    model = build_tiny("unet_film_relief", terrain_prior=True, **SMALL).train()
    assert model.uses_terrain_prior and model.input_bands == 2
    inputs = torch.randn(2, 2, 48, 40, requires_grad=True)
    logits = model(inputs, torch.tensor([2.0, 5.0, 10.0, 2.0, 5.0, 10.0]))
    assert logits.shape == (6, 1, 48, 40)
    logits.mean().backward()
    # The prior band reaches the output, and the blend weight learns.
    assert float(inputs.grad[:, 1].abs().sum()) > 0
    assert model.prior_logit.grad is not None


def test_prior_band_changes_the_output(build_tiny: Callable[..., nn.Module]) -> None:
    model = build_tiny("unet_film_relief", terrain_prior=True, **SMALL).eval()
    dsm = torch.randn(1, 1, 32, 32)
    flat = torch.cat([dsm, torch.zeros_like(dsm)], dim=1)
    ramp = torch.linspace(-0.3, 0.3, 32).expand(1, 1, 32, 32)
    tilted = torch.cat([dsm, ramp], dim=1)
    with torch.no_grad():
        assert not torch.allclose(model(flat, torch.tensor([5.0])), model(tilted, torch.tensor([5.0])))


def test_model_without_prior_is_unchanged(build_tiny: Callable[..., nn.Module]) -> None:
    """Same parameters and the same logits as a model built without the option at all."""
    plain = build_tiny("unet_film_relief", seed=3, **SMALL).eval()
    explicit = build_tiny("unet_film_relief", seed=3, terrain_prior=False, **SMALL).eval()
    assert not plain.uses_terrain_prior
    assert plain.state_dict().keys() == explicit.state_dict().keys()
    assert not any("prior" in key for key in plain.state_dict())
    dsm = torch.randn(2, 1, 40, 40)
    with torch.no_grad():
        assert torch.equal(plain(dsm, torch.tensor([5.0, 5.0])), explicit(dsm, torch.tensor([5.0, 5.0])))


def test_band_count_mismatch_is_a_model_error(build_tiny: Callable[..., nn.Module]) -> None:
    with_prior = build_tiny("unet_film_relief", terrain_prior=True, **SMALL)
    without = build_tiny("unet_film_relief", **SMALL)
    with pytest.raises(ModelError, match=r"\(B, 2, H, W\)"):
        with_prior(torch.zeros(1, 1, 32, 32), torch.tensor([5.0]))
    with pytest.raises(ModelError, match=r"\(B, 1, H, W\)"):
        without(torch.zeros(1, 2, 32, 32), torch.tensor([5.0]))


def test_card_records_the_prior(build_tiny: Callable[..., nn.Module], tmp_path: Path) -> None:
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    for uses_prior in (True, False):
        model = build_tiny("unet_film_relief", terrain_prior=uses_prior, **SMALL)
        folder = save_model(model, normalizer, ModelCard(), tmp_path / str(uses_prior))
        loaded = load_model(folder)
        assert loaded.card.uses_terrain_prior is uses_prior
        assert loaded.model.uses_terrain_prior is uses_prior
        assert ("terrain prior   used" in loaded.card.describe()) is uses_prior


def test_shipped_default_model_does_not_use_a_prior() -> None:
    loaded = load_model("default")
    assert loaded.card.uses_terrain_prior is False
    assert loaded.model.input_bands == 1


@pytest.mark.parametrize("strategy", ["robust_percentile", "minmax_tile", "zscore_global"])
def test_prior_is_normalised_in_the_dsm_frame(strategy: str) -> None:
    """Band 0 is the plain normalised DSM; dsm - prior keeps its metres per unit."""
    rng = np.random.default_rng(0)
    stats = {"relief_range_m": 40.0, "mean_m": 300.0, "std_m": 50.0}
    dsm = (400.0 + rng.normal(0, 8, (2, 1, 24, 24))).astype(np.float32)
    valid = np.ones(dsm.shape, dtype=bool)
    valid[0, 0, :3, :3] = False
    prior = (dsm - 20.0 + rng.normal(0, 1, dsm.shape)).astype(np.float32)
    torch_module = Normalizer(strategy, stats)
    numpy_twin = NumpyNormalizer.from_dict(torch_module.to_dict())
    stacked = torch_module.with_prior(
        torch.from_numpy(dsm), torch.from_numpy(valid), torch.from_numpy(prior)
    ).numpy()
    stacked_np = numpy_twin.with_prior(dsm, valid, prior)
    assert stacked.shape == stacked_np.shape == (2, 2, 24, 24)
    assert np.array_equal(stacked[:, :1], torch_module(torch.from_numpy(dsm), torch.from_numpy(valid)).numpy())
    assert np.array_equal(stacked_np[:, :1], numpy_twin(dsm, valid))
    np.testing.assert_allclose(stacked_np, stacked, rtol=1e-5, atol=1e-5)
    offset, scale = numpy_twin.frame(dsm, valid)
    above_m = (stacked_np[:, :1] - stacked_np[:, 1:]) * np.asarray(scale)
    inside = valid
    np.testing.assert_allclose(above_m[inside], (dsm - prior)[inside], atol=1e-3)


def test_detrended_opening_shrinks_the_ground_error_on_steep_slopes() -> None:
    """The design's premise: with the coarse terrain removed first, the opening's relief
    follows the true canopy height on a ridge-and-valley slope (on flat ground both agree)."""
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[0:192, 0:192].astype(np.float32)
    ridges_m = 30.0 * np.sin(2 * np.pi * cols / 90.0) * np.cos(2 * np.pi * rows / 110.0)
    chm_m = np.clip(20.0 + rng.normal(0, 3, cols.shape), 0, None).astype(np.float32)
    for row in range(5, 192, 22):
        for col in range(5, 192, 22):
            chm_m[row : row + 7, col : col + 7] = 0.5  # gaps: the opening sees the ground
    relief = OpeningRelief(41, 9)

    def error_m(surface_m: np.ndarray) -> float:
        heights = relief(torch.from_numpy(surface_m.astype(np.float32))[None, None])[0, 0]
        return float(np.abs(heights.numpy() - chm_m).mean())

    for ground_m, is_steep in ((np.zeros_like(cols), False), (0.4 * cols + ridges_m, True)):
        dsm_m = ground_m + chm_m
        prior_m = ground_m + 1.5  # biased but smooth coarse terrain
        plain_m, detrended_m = error_m(dsm_m), error_m(dsm_m - prior_m)
        assert detrended_m <= 1.0
        assert (plain_m > 5.0 * detrended_m) is is_steep

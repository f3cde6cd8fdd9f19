"""Building blocks: FiLM identity, threshold encoding, attention, norms, DropPath, padding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.blocks.activation import ACTIVATION_NAMES, make_activation
from forestgaps_engine.models.blocks.cbam import CBAM
from forestgaps_engine.models.blocks.drop_path import DropPath, drop_path_rates
from forestgaps_engine.models.blocks.eca import ECA
from forestgaps_engine.models.blocks.efficient_attention import EfficientAttention
from forestgaps_engine.models.blocks.film import FiLM, ThresholdEncoder
from forestgaps_engine.models.blocks.norm import make_norm_factory, resolve_norm
from forestgaps_engine.models.blocks.positional import PositionalChannels
from forestgaps_engine.models.blocks.residual import ResidualBlock
from forestgaps_engine.models.padding import pad_to_multiple


def test_film_is_identity_at_init_and_learns_away_from_it() -> None:
    film = FiLM(embedding_dim=8, channels=4)
    x = torch.randn(3, 4, 5, 6)
    embedding = torch.randn(3, 8)
    gamma, beta = film.gamma_beta(embedding)
    assert torch.equal(gamma, torch.ones(3, 4, 1, 1))
    assert torch.equal(beta, torch.zeros(3, 4, 1, 1))
    assert torch.equal(film(x, embedding), x)

    film(x, embedding).square().sum().backward()
    assert film.projection.weight.grad.abs().sum() > 0


def test_threshold_encoder_separates_nearby_thresholds() -> None:
    torch.manual_seed(0)
    encoder = ThresholdEncoder(embedding_dim=16, threshold_max_m=30.0)
    embeddings = encoder(torch.tensor([2.0, 2.5, 20.0]))
    assert embeddings.shape == (3, 16)
    assert (embeddings[0] - embeddings[1]).abs().max() > 1e-3
    assert torch.isfinite(embeddings).all()


@pytest.mark.parametrize("module", [CBAM(16), ECA(16), EfficientAttention(16, heads=4)])
def test_attention_keeps_shape(module: nn.Module) -> None:
    x = torch.randn(2, 16, 7, 9)
    assert module(x).shape == x.shape


def test_efficient_attention_mixes_distant_pixels() -> None:
    torch.manual_seed(0)
    attention = EfficientAttention(8, heads=2).eval()
    x = torch.randn(1, 8, 16, 16)
    changed = x.clone()
    changed[..., 0, 0] += 5.0
    difference = attention(changed) - attention(x)
    assert difference[..., 15, 15].abs().max() > 0  # a 1x1-conv block could not do this


def test_activation_factory_and_unknown_name() -> None:
    for name in ACTIVATION_NAMES:
        assert isinstance(make_activation(name), nn.Module)
    with pytest.raises(ModelError) as caught:
        make_activation("tanhh")
    assert "tanhh" in str(caught.value) and "mish" in caught.value.hint


def test_auto_norm_follows_per_device_batch() -> None:
    assert resolve_norm("auto", per_device_batch_size=16, min_batch_for_batchnorm=8) == "batch"
    assert resolve_norm("auto", per_device_batch_size=2, min_batch_for_batchnorm=8) == "group"
    assert resolve_norm("instance", per_device_batch_size=64) == "instance"
    assert isinstance(make_norm_factory("auto", 4)(24), nn.GroupNorm)
    assert isinstance(make_norm_factory("auto", 32)(24), nn.BatchNorm2d)
    assert isinstance(make_norm_factory("instance", 32)(24), nn.InstanceNorm2d)
    with pytest.raises(ModelError, match="layer"):
        resolve_norm("layer", 8)


def test_drop_path_schedule_and_behaviour() -> None:
    assert drop_path_rates(0.2, 5) == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    drop = DropPath(0.5)
    x = torch.ones(1000, 3, 2, 2)
    assert torch.equal(drop.eval()(x), x)
    out = drop.train()(x)
    kept = out[:, 0, 0, 0] > 0
    assert 350 < int(kept.sum()) < 650
    assert torch.allclose(out[kept], torch.full_like(out[kept], 2.0))  # rescaled by 1/keep


def test_residual_block_with_everything() -> None:
    block = ResidualBlock(
        8,
        16,
        make_norm_factory("group", 2),
        "silu",
        stride=2,
        embedding_dim=4,
        attention="cbam",
        drop_path=0.1,
    )
    out = block(torch.randn(2, 8, 10, 12), torch.randn(2, 4))
    assert out.shape == (2, 16, 5, 6)


def test_positional_channels() -> None:
    x = torch.zeros(2, 1, 4, 6)
    coords = PositionalChannels("coords")(x)
    assert coords.shape == (2, 2, 4, 6)
    assert coords[0, 0, 0, 0] == pytest.approx(-0.75) and coords[0, 1, 0, -1] == pytest.approx(
        5 / 6
    )
    assert PositionalChannels("fourier", num_frequencies=3)(x).shape == (2, 12, 4, 6)


def test_pad_to_multiple_replicates_edges() -> None:
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 4)
    assert torch.equal(padded[0, 0, :2, :3], x[0, 0])
    assert torch.equal(padded[0, 0, 3], torch.tensor([3.0, 4.0, 5.0, 5.0]))
    assert pad_to_multiple(x, 1) is x


def test_opening_relief_matches_the_baseline_opening() -> None:
    """The in-graph opening is the DSM-only baseline's opening (scipy, flat square window)."""
    import numpy as np
    from scipy import ndimage

    from forestgaps_engine.models.blocks.ground import OpeningRelief

    generator = np.random.default_rng(3)
    surface = generator.normal(0.0, 5.0, (37, 53)).cumsum(axis=1).astype(np.float32)
    window_px = 9
    opened = ndimage.maximum_filter(
        ndimage.minimum_filter(surface, size=window_px, mode="nearest"),
        size=window_px,
        mode="nearest",
    )
    expected = surface - np.minimum(opened, surface)

    relief = OpeningRelief(window_px, smoothing_px=1)(torch.from_numpy(surface)[None, None])

    np.testing.assert_allclose(relief[0, 0].numpy(), expected, atol=1e-5)
    assert float(relief.min()) >= 0.0


def test_opening_relief_of_a_plane_is_zero_and_a_crown_stands_out() -> None:
    from forestgaps_engine.models.blocks.ground import OpeningRelief

    rows, cols = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    plane = 0.3 * rows - 0.2 * cols + 100.0
    crown = plane + 20.0 * ((rows - 32) ** 2 + (cols - 32) ** 2 < 25).float()

    relief_plane = OpeningRelief(21, 5)(plane[None, None])
    relief_crown = OpeningRelief(21, 5)(crown[None, None])

    # Windows cut by the raster edge are not exact (as in the baseline): check the interior.
    interior = (slice(None), slice(None), slice(20, 44), slice(20, 44))
    assert float(relief_plane[interior].abs().max()) < 1e-4
    assert float(relief_crown[0, 0, 32, 32]) > 19.0
    assert float(relief_crown[0, 0, 22, 44]) < 1e-4

"""One shared tester run on every registered architecture (the contract of the model zoo)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias

from forestgaps_engine.models import available_models, create
from forestgaps_engine.models.blocks.film import FiLM

MODELS = available_models()

# Documented exception to "every parameter gets a non-zero gradient": the threshold
# encoder's MLP feeds only FiLM projections, which start at zero (identity FiLM), so its
# gradient is exactly zero until the first optimizer step moves those projections.
ZERO_GRAD_AT_INIT_PREFIX = "threshold_encoder."


def test_seven_architectures_are_registered() -> None:
    assert set(MODELS) >= {
        "unet",
        "unet_film",
        "unet_cbam",
        "unet_film_cbam",
        "deeplabv3plus",
        "mobile_unet",
        "fast_scnn",
    }


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("shape", [(1, 1, 37, 53), (2, 1, 64, 64)])
def test_forward_backward_any_size(build_tiny, name: str, shape: tuple[int, ...]) -> None:
    model = build_tiny(name).train()
    generator = torch.Generator().manual_seed(1)
    dsm = torch.randn(*shape, generator=generator)
    threshold_m = torch.linspace(2.0, 20.0, shape[0])
    target = (torch.rand(*shape, generator=generator) > 0.5).float()

    logits = model(dsm, threshold_m)

    assert logits.shape == dsm.shape
    assert torch.isfinite(logits).all()
    F.binary_cross_entropy_with_logits(logits, target).backward()
    for parameter_name, parameter in model.named_parameters():
        assert parameter.grad is not None, f"{name}: no gradient reaches {parameter_name}"
        assert torch.isfinite(parameter.grad).all(), f"{name}: {parameter_name}"
        if not parameter_name.startswith(ZERO_GRAD_AT_INIT_PREFIX):
            assert parameter.grad.abs().sum() > 0, f"{name}: zero gradient at {parameter_name}"


@pytest.mark.parametrize("name", MODELS)
def test_threshold_encoder_gets_gradient_after_one_step(build_tiny, name: str) -> None:
    model = build_tiny(name).train()
    encoder_parameters = [
        p for n, p in model.named_parameters() if n.startswith(ZERO_GRAD_AT_INIT_PREFIX)
    ]
    if not encoder_parameters:
        pytest.skip(f"{name} takes the threshold as an input channel, not through FiLM")
    dsm, threshold_m, target = _threshold_task()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(dsm, threshold_m), target).backward()
        optimizer.step()
    assert all(p.grad.abs().sum() > 0 for p in encoder_parameters)


def _threshold_task(
    batch: int = 4, size_px: int = 32, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Smooth random DSMs; a pixel is gap when it lies below a threshold-dependent level."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, 1, size_px // 4, size_px // 4, generator=generator)
    dsm = F.interpolate(coarse, size=(size_px, size_px), mode="bilinear", align_corners=False)
    threshold_m = torch.tensor([4.0, 10.0, 16.0, 24.0])[:batch]
    level = ((threshold_m - 14.0) / 10.0).reshape(-1, 1, 1, 1)
    return dsm, threshold_m, (dsm <= level).float()


@pytest.mark.parametrize("name", MODELS)
def test_learns_threshold_dependent_task(build_tiny, name: str) -> None:
    model = build_tiny(name).train()
    dsm, threshold_m, target = _threshold_task()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(dsm, threshold_m), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert min(losses[-5:]) < 0.7 * losses[0], f"{name}: {losses[0]:.3f} -> {losses[-5:]}"


@pytest.mark.parametrize("name", MODELS)
def test_threshold_changes_output(build_tiny, name: str) -> None:
    model = build_tiny(name).train()
    dsm, threshold_m, target = _threshold_task()
    # a few steps move the identity-initialised FiLM projections away from zero
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(5):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(dsm, threshold_m), target).backward()
        optimizer.step()
    model.eval()
    tile = dsm[:1]
    with torch.no_grad():
        low = model(tile, torch.tensor([2.0]))
        high = model(tile, torch.tensor([20.0]))
    assert (low - high).abs().max() > 1e-4


def test_unet_threshold_channel_matters_at_init(build_tiny) -> None:
    model = build_tiny("unet").eval()
    dsm = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        difference = model(dsm, torch.tensor([2.0])) - model(dsm, torch.tensor([20.0]))
    assert difference.abs().max() > 1e-5


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_same_weights(build_tiny, name: str) -> None:
    first = build_tiny(name, seed=3).state_dict()
    second = build_tiny(name, seed=3).state_dict()
    other = build_tiny(name, seed=4).state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert any(not torch.equal(first[key], other[key]) for key in first)


@pytest.mark.parametrize("name", MODELS)
def test_film_layers_are_identity_at_init(build_tiny, name: str) -> None:
    model = build_tiny(name)
    films = [module for module in model.modules() if isinstance(module, FiLM)]
    for film in films:
        x = torch.randn(2, film.channels, 5, 7)
        embedding = torch.randn(2, film.projection.in_features)
        assert torch.equal(film(x, embedding), x)


@pytest.mark.parametrize("name", MODELS)
def test_rebuilt_from_name_and_config(build_tiny, name: str) -> None:
    model = build_tiny(name)
    assert model.name == name
    rebuilt = create(model.name, **model.config.model_dump(mode="json"))
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.config == model.config


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("unet_film", {"positional": "fourier", "norm": "group", "activation": "mish"}),
        ("unet_film_cbam", {"attention": "eca", "bottleneck_attention": False, "drop_path": 0.2}),
        ("unet_cbam", {"positional": "coords", "norm": "instance", "activation": "gelu"}),
        ("fast_scnn", {"refine_full_resolution": False, "activation": "leaky_relu"}),
        ("mobile_unet", {"per_device_batch_size": 2, "expansion": 4}),
        ("deeplabv3plus", {"aspp_rates": (2, 4, 6), "dropout": 0.1}),
    ],
)
def test_non_default_variants_run(build_tiny, name: str, extra: dict) -> None:
    model = build_tiny(name, **extra).train()
    dsm = torch.randn(2, 1, 45, 38)
    logits = model(dsm, torch.tensor([3.0, 12.0]))
    assert logits.shape == dsm.shape and torch.isfinite(logits).all()
    logits.mean().backward()


def test_rejects_a_2d_tile(build_tiny) -> None:
    from forestgaps_engine.errors import ModelError

    with pytest.raises(ModelError, match=r"\(B, 1, H, W\)"):
        build_tiny("unet")(torch.randn(32, 32), torch.tensor([5.0]))


@pytest.mark.parametrize("name", MODELS)
def test_k_thresholds_per_window_equal_repeated_windows(build_tiny, name: str) -> None:
    """``(B, 1, H, W)`` windows with ``(B * K,)`` thresholds, window-major, give the same
    logits as each window repeated K times; a sharing model runs its trunk once."""
    model = build_tiny(name).eval()
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for parameter in model.parameters():  # leave the identity FiLM init behind
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
        dsm = torch.randn(3, 1, 40, 56, generator=generator)
        thresholds = torch.tensor([2.0, 7.5, 15.0] * 3)
        shared = model(dsm, thresholds)
        repeated = model(dsm.repeat_interleave(3, dim=0), thresholds)
    assert shared.shape == (9, 1, 40, 56)
    torch.testing.assert_close(shared, repeated, atol=1e-5, rtol=1e-5)
    assert (shared[0] - shared[2]).abs().max() > 1e-4, "the threshold changes nothing"


def test_thresholds_not_a_multiple_of_the_windows_are_refused(build_tiny) -> None:
    from forestgaps_engine.errors import ModelError

    model = build_tiny("unet_film_relief").eval()
    with pytest.raises(ModelError, match="5 thresholds for 2 windows"):
        model(torch.zeros(2, 1, 32, 32), torch.full((5,), 5.0))

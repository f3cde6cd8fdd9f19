"""torch.compile wrapper: clean fallback to eager, and parity when it does compile."""

from __future__ import annotations

import logging

import pytest
import torch

from forestgaps_engine.models.compile import compile_unsupported_reason, maybe_compile


def test_disabled_returns_the_model(build_tiny) -> None:
    model = build_tiny("unet_film")
    assert maybe_compile(model, enabled=False) is model


def test_falls_back_when_compile_raises(build_tiny, monkeypatch, caplog) -> None:
    model = build_tiny("unet_film")

    def broken_compile(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(torch, "compile", broken_compile)
    monkeypatch.setattr(
        "forestgaps_engine.models.compile.compile_unsupported_reason", lambda model: None
    )
    with caplog.at_level(logging.WARNING):
        result = maybe_compile(model, enabled=True)
    assert result is model
    assert "no backend" in caplog.text


def test_falls_back_when_first_call_fails_and_keeps_mode(build_tiny, monkeypatch, caplog) -> None:
    model = build_tiny("unet_film").train()

    def lazy_failure(module: torch.nn.Module, **kwargs: object) -> object:
        def call(*args: object) -> None:
            raise OSError("C++ compiler crashed")

        return call

    monkeypatch.setattr(torch, "compile", lazy_failure)
    monkeypatch.setattr(
        "forestgaps_engine.models.compile.compile_unsupported_reason", lambda model: None
    )
    with caplog.at_level(logging.WARNING):
        result = maybe_compile(model, enabled=True)
    assert result is model and model.training
    assert "C++ compiler crashed" in caplog.text


def test_unsupported_platform_is_reported(build_tiny, monkeypatch, caplog) -> None:
    model = build_tiny("unet_film")
    monkeypatch.setattr("sys.platform", "win32")
    assert "Windows" in compile_unsupported_reason(model)
    with caplog.at_level(logging.WARNING):
        assert maybe_compile(model, enabled=True) is model
    assert "Windows" in caplog.text


@pytest.mark.slow
def test_compiled_output_matches_eager(build_tiny) -> None:
    # the smallest graph: compile time on a shared 2-core machine grows with graph size
    model = build_tiny("unet", base_channels=4, depth=1).eval()
    dsm = torch.randn(1, 1, 64, 64)
    threshold_m = torch.tensor([5.0])
    compiled = maybe_compile(model, enabled=True, example_inputs=(dsm, threshold_m))
    if compiled is model:
        pytest.skip("torch.compile is not available on this machine")
    assert compiled.name == "unet"
    with torch.no_grad():
        expected = model(dsm, threshold_m)
        actual = compiled(dsm, threshold_m)
    assert (actual - expected).abs().max() <= 1e-4

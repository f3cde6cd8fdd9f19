"""The device check lists every model runtime that works, not only PyTorch."""

from __future__ import annotations

import sys

import pytest

from forestgaps_engine.environment.detect import describe_runtimes, detect_runtimes


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_every_installed_runtime_is_listed_with_its_version_and_devices() -> None:
    runtimes = {runtime.module: runtime for runtime in detect_runtimes()}
    assert list(runtimes) == ["torch", "onnxruntime", "openvino"]
    for module, runtime in runtimes.items():
        assert runtime.is_working == installed(module)
        if runtime.is_working:
            assert runtime.version and "CPU" in runtime.devices
            assert f"{runtime.name} {runtime.version} (" in describe_runtimes(
                tuple(runtimes.values())
            )


def test_without_torch_prediction_is_available_through_onnx_runtime_or_openvino(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not (installed("onnxruntime") or installed("openvino")):
        pytest.skip("neither ONNX Runtime nor OpenVINO is installed")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises

    runtimes = detect_runtimes()
    text = describe_runtimes(runtimes)

    assert text.startswith("Deep-learning prediction is available: ")
    assert "PyTorch: not installed" in text
    assert any(r.is_working for r in runtimes if r.module in ("onnxruntime", "openvino"))


def test_with_no_runtime_the_sentence_names_all_three(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("torch", "onnxruntime", "openvino"):
        monkeypatch.setitem(sys.modules, module, None)

    text = describe_runtimes(detect_runtimes())

    assert text.startswith("Deep-learning prediction is unavailable: it needs PyTorch, ONNX ")
    assert "ONNX Runtime or OpenVINO" in text and text.count("not installed") == 3

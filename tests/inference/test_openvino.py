"""OpenVINO runs the same graph as ONNX Runtime, in fp32 and (where the CPU has it) bf16."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.errors import InferenceError
from forestgaps_engine.inference.backends import (
    OnnxRuntimeBackend,
    OpenVinoBackend,
    cpu_supports_bf16,
    onnx_path_for,
)

pytest.importorskip("openvino")


def test_openvino_fp32_matches_onnxruntime(tiny_model):
    rng = np.random.default_rng(0)
    dsm_norm = rng.normal(0, 1, (3, 1, 40, 48)).astype(np.float32)
    thresholds = np.array([2, 5, 10], dtype=np.float32)
    path = onnx_path_for(tiny_model)
    expected = OnnxRuntimeBackend(path).run(dsm_norm, thresholds)
    backend = OpenVinoBackend(path, "f32")
    first = backend.run(dsm_norm, thresholds)
    second = backend.run(dsm_norm[:1], thresholds[:1])  # another shape reuses the request
    assert backend.name == "openvino" and first.shape == expected.shape
    assert np.abs(first - expected).max() < 1e-4
    assert np.abs(second - expected[:1]).max() < 1e-4


def test_openvino_bf16_is_close_or_refused(tiny_model):
    path = onnx_path_for(tiny_model)
    if not cpu_supports_bf16():
        with pytest.raises(InferenceError, match="bf16"):
            OpenVinoBackend(path, "bf16")
        return
    dsm_norm = np.random.default_rng(1).normal(0, 1, (2, 1, 32, 32)).astype(np.float32)
    thresholds = np.array([5, 10], dtype=np.float32)
    expected = OnnxRuntimeBackend(path).run(dsm_norm, thresholds)
    actual = OpenVinoBackend(path, "bf16").run(dsm_norm, thresholds)
    assert np.abs(actual - expected).max() < 0.05


def test_compiled_models_are_cached_and_reused(tiny_model, tmp_path, monkeypatch):
    from forestgaps_engine.inference.backends import openvino_cache_dir

    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(1)
    dsm_norm = rng.normal(0, 1, (2, 1, 32, 32)).astype(np.float32)
    thresholds = np.array([2, 5], dtype=np.float32)
    path = onnx_path_for(tiny_model)
    first = OpenVinoBackend(path, "f32").run(dsm_norm, thresholds)
    blobs = sorted(openvino_cache_dir().iterdir())
    assert blobs, "OpenVINO wrote no compiled model into the cache"
    second = OpenVinoBackend(path, "f32").run(dsm_norm, thresholds)
    assert sorted(openvino_cache_dir().iterdir()) == blobs  # read back, not compiled again
    np.testing.assert_array_equal(first, second)


def test_an_unwritable_cache_only_costs_the_compilation(tiny_model, tmp_path, monkeypatch):
    path = onnx_path_for(tiny_model)  # exported before the cache folder is blocked
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(blocker))
    dsm_norm = np.zeros((1, 1, 32, 32), dtype=np.float32)
    result = OpenVinoBackend(path, "f32").run(dsm_norm, np.array([5], dtype=np.float32))
    assert result.shape == (1, 1, 32, 32)

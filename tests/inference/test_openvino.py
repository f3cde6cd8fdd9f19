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

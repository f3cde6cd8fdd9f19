"""Every registered model exports to ONNX (opset 17, dynamic B/H/W) and TorchScript (trace)."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from forestgaps_engine.models import available_models
from forestgaps_engine.models.blocks.film import FiLM

onnxruntime = pytest.importorskip("onnxruntime")

MODELS = available_models()
# sizes that are not multiples of any model's stride, so padding and cropping are exercised
CHECK_SHAPES = [(1, 1, 40, 56), (2, 1, 37, 70)]


def _condition_on_threshold(model: torch.nn.Module) -> torch.nn.Module:
    """Move FiLM off the identity so the threshold path is part of what is compared."""
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, FiLM):
                weight = module.projection.weight
                weight.copy_(0.1 * torch.randn(weight.shape, generator=generator))
    return model.eval()


def _export_onnx(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    dsm = torch.randn(1, 1, 48, 64)
    threshold_m = torch.tensor([5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter warns it is legacy
        torch.onnx.export(
            model,
            (dsm, threshold_m),
            buffer,
            opset_version=17,
            dynamo=False,
            input_names=["dsm", "threshold_m"],
            output_names=["logits"],
            dynamic_axes={
                "dsm": {0: "batch", 2: "height", 3: "width"},
                "threshold_m": {0: "batch"},
                "logits": {0: "batch", 2: "height", 3: "width"},
            },
        )
    return buffer.getvalue()


@pytest.mark.parametrize("name", MODELS)
def test_onnx_runtime_matches_eager(build_tiny, name: str) -> None:
    model = _condition_on_threshold(build_tiny(name))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        _export_onnx(model), options, providers=["CPUExecutionProvider"]
    )
    generator = torch.Generator().manual_seed(0)
    for shape in CHECK_SHAPES:
        dsm = torch.randn(*shape, generator=generator)
        threshold_m = torch.linspace(2.0, 20.0, shape[0])
        with torch.no_grad():
            expected = model(dsm, threshold_m).numpy()
        (actual,) = session.run(None, {"dsm": dsm.numpy(), "threshold_m": threshold_m.numpy()})
        assert actual.shape == expected.shape
        assert np.abs(actual - expected).max() <= 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_torchscript_trace_matches_eager_at_other_sizes(build_tiny, name: str) -> None:
    model = _condition_on_threshold(build_tiny(name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(
            model, (torch.randn(1, 1, 48, 64), torch.tensor([5.0])), check_trace=False
        )
    for shape in CHECK_SHAPES:
        dsm = torch.randn(*shape)
        threshold_m = torch.linspace(2.0, 20.0, shape[0])
        # the optimising executor would spend seconds profiling and fusing the graph
        with torch.no_grad(), torch.jit.optimized_execution(False):
            expected = model(dsm, threshold_m)
            actual = traced(dsm, threshold_m)
        assert actual.shape == expected.shape
        assert (actual - expected).abs().max() <= 1e-4

"""Torch and ONNX Runtime agree; the CLI runs end to end."""

from __future__ import annotations

import json

import numpy as np
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict
from forestgaps_engine.inference.backends import OnnxRuntimeBackend, TorchBackend, onnx_path_for
from tests.inference.helpers import forest, write_dsm


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def test_onnxruntime_matches_torch(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    dsm_norm = rng.normal(0, 1, (4, 1, 48, 40)).astype(np.float32)
    thresholds = np.array([2, 5, 10, 15], dtype=np.float32)
    torch_probabilities = TorchBackend(tiny_model.model).run(dsm_norm, thresholds)
    onnx_backend = OnnxRuntimeBackend(onnx_path_for(tiny_model))
    onnx_probabilities = onnx_backend.run(dsm_norm, thresholds)
    assert np.abs(torch_probabilities - onnx_probabilities).max() < 1e-4
    # Masks through the whole pipeline, cut where the torch map splits in half.
    dsm = write_dsm(tmp_path / "dsm.tif", forest(100))
    base = InferenceConfig(tile_size_px=64, overlap_px=16, device="cpu", min_gap_area_m2=0)
    reference = predict(dsm, [5], tiny_model, tmp_path / "torch", base).thresholds[0]
    with rasterio.open(reference.probability_path) as dataset:
        cutoff = float(np.median(dataset.read(1)))
    masks = {}
    for backend in ("torch", "onnxruntime"):
        config = base.model_copy(update={"backend": backend, "probability_cutoff": cutoff})
        item = predict(dsm, [5], tiny_model, tmp_path / f"{backend}_cut", config).thresholds[0]
        with rasterio.open(item.mask_path) as dataset:
            masks[backend] = dataset.read(1) == 1
    assert masks["torch"].mean() > 0.2
    assert 1.0 - _iou(masks["torch"], masks["onnxruntime"]) <= 0.005


def test_cli_predict_writes_outputs(tmp_path, tiny_model_dir):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(70))
    out = tmp_path / "out"
    argv = ["predict", str(dsm), "--threshold", "5", "--threshold", "10", "--model"]
    argv += [str(tiny_model_dir), "--out", str(out), "--tile", "64", "--overlap", "8"]
    argv += ["--device", "cpu", "--min-area", "2", "--cutoff", "0.6", "--batch", "4"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["probability_cutoff"] == 0.6
    assert (out / "gap_mask_t10.tif").is_file() and (out / "gaps_t5.gpkg").is_file()
    assert main(["predict", str(dsm), "--threshold", "-1", "--model", str(tiny_model_dir)]) == 2
    assert main(["predict", str(dsm), "--tile", "64", "--overlap", "40"]) == 2


def test_window_sharing_is_probed_per_graph(tmp_path, tiny_model):
    """A model of the zoo and its ONNX export take K thresholds per window; a graph that
    needs one threshold per window (as exports made before sharing) is fed copies."""
    import torch

    from tests.inference.helpers import PointwiseNet

    assert TorchBackend(tiny_model.model).shares_windows
    assert OnnxRuntimeBackend(onnx_path_for(tiny_model)).shares_windows

    legacy = tmp_path / "legacy.onnx"
    torch.onnx.export(
        PointwiseNet().eval(),
        (torch.zeros(2, 1, 16, 16), torch.full((2,), 5.0)),
        str(legacy),
        dynamo=False,
        input_names=["dsm", "threshold_m"],
        output_names=["logits"],
        dynamic_axes={"dsm": {0: "n", 2: "h", 3: "w"}, "threshold_m": {0: "n"}},
    )
    assert not OnnxRuntimeBackend(legacy).shares_windows
    assert not TorchBackend(PointwiseNet()).shares_windows


def test_torch_compile_backend_matches_eager_torch(tmp_path, tiny_model):
    import pytest

    from forestgaps_engine.models.compile import compile_unsupported_reason

    reason = compile_unsupported_reason(tiny_model.model)
    if reason is not None:
        pytest.skip(f"torch.compile unavailable here: {reason}")
    dsm = write_dsm(tmp_path / "dsm.tif", forest(100))
    base = InferenceConfig(tile_size_px=64, overlap_px=16, device="cpu", min_gap_area_m2=0)
    outputs = {}
    for backend in ("torch", "torch_compile"):
        config = base.model_copy(update={"backend": backend})
        result = predict(dsm, [2, 5], tiny_model, tmp_path / backend, config)
        assert result.summary["backend"] == backend
        outputs[backend] = [rasterio.open(t.probability_path).read(1) for t in result.thresholds]
    for eager, compiled in zip(outputs["torch"], outputs["torch_compile"], strict=True):
        np.testing.assert_allclose(compiled, eager, atol=1e-4)

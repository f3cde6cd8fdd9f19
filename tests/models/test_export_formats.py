"""Every registered model exports to ONNX and TorchScript with parity to eager PyTorch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models import available_models
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.card import ModelCard, load_model, save_model
from forestgaps_engine.models.export import (
    GraphSpec,
    check_parity,
    export_model,
    export_native,
    export_onnx,
    export_torchscript,
    load_torchscript,
)
from forestgaps_engine.models.export.parity import require_parity
from forestgaps_engine.models.normalization import Normalizer

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

SIZES = ((1, 64, 64), (2, 96, 80))
TOLERANCE = 1e-4


def _save_tiny(build_tiny: Callable, name: str, folder: Path, seed: int = 0) -> Path:
    """A tiny model whose FiLM layers are off the identity, saved with a card."""
    model = build_tiny(name, seed=seed)
    generator = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, FiLM):
                weight = module.projection.weight
                weight.copy_(0.1 * torch.randn(weight.shape, generator=generator))
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 25.0})
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 10.0), resolution_m=0.5)
    return save_model(model.eval(), normalizer, card, folder)


def _metadata(path: Path) -> dict[str, str]:
    return {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}


@pytest.mark.parametrize("name", available_models())
def test_onnx_and_torchscript_match_eager(build_tiny, tmp_path: Path, name: str) -> None:
    folder = _save_tiny(build_tiny, name, tmp_path / "model")
    loaded = load_model(folder)

    onnx_path = export_onnx(folder, tmp_path / "out" / "model.onnx").path
    parity = check_parity(loaded, onnx_path, "onnx", sizes=SIZES)
    # every architecture takes K thresholds per window (the last size is checked at K = 3)
    assert set(parity) == {"1x64x64", "2x96x80", "2x96x80x3t"}
    assert max(parity.values()) <= TOLERANCE
    metadata = _metadata(onnx_path)
    card = ModelCard.model_validate_json(metadata["forestgaps_model_card"])
    assert card.model_id == loaded.card.model_id and card.architecture == name
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inputs = {item.name: item.shape for item in session.get_inputs()}
    assert list(inputs) == ["dsm_m", "valid", "threshold_m"]
    assert all(isinstance(dim, str) for dim in inputs["dsm_m"][0:1] + inputs["dsm_m"][2:])

    script_path = export_torchscript(loaded, tmp_path / "out" / "model.pt").path
    parity = check_parity(loaded, script_path, "torchscript", sizes=SIZES)
    assert max(parity.values()) <= TOLERANCE
    _module, script_card, spec = load_torchscript(script_path)
    assert script_card["model_id"] == loaded.card.model_id
    assert spec.input_names == ["dsm_m", "valid", "threshold_m"]


def test_exported_graph_normalizes_raw_metres_and_respects_the_threshold(
    build_tiny, tmp_path: Path
) -> None:
    folder = _save_tiny(build_tiny, "unet_film", tmp_path / "model")
    onnx_path = export_onnx(folder, tmp_path / "model.onnx").path
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    dsm_m = (300.0 + rng.uniform(0, 30, (2, 1, 40, 40))).astype(np.float32)
    dsm_m[:, :, :3] = np.nan
    valid = np.ones_like(dsm_m)
    (low_and_high,) = session.run(
        None, {"dsm_m": dsm_m, "valid": valid, "threshold_m": np.array([2.0, 10.0], np.float32)}
    )
    assert low_and_high.shape == (2, 1, 40, 40)
    assert np.isfinite(low_and_high).all()
    assert ((low_and_high >= 0) & (low_and_high <= 1)).all()
    assert np.abs(low_and_high[0] - low_and_high[1]).max() > 1e-6
    # only relief matters: the same forest 500 m higher gives the same probabilities
    (shifted,) = session.run(
        None,
        {"dsm_m": dsm_m + 500.0, "valid": valid, "threshold_m": np.array([2.0, 10.0], np.float32)},
    )
    assert np.abs(shifted - low_and_high).max() < 1e-3


def test_normalized_input_graph(build_tiny, tmp_path: Path) -> None:
    folder = _save_tiny(build_tiny, "unet", tmp_path / "model")
    result = export_model(folder, tmp_path / "norm.onnx", include_normalization=False)
    assert max(result.parity.values()) <= TOLERANCE
    spec = GraphSpec.from_json(_metadata(result.path)["forestgaps_graph"])
    assert spec.input_names == ["dsm_norm", "threshold_m"] and not spec.include_normalization


def test_deepness_graph_has_one_input_two_classes_and_its_metadata(
    build_tiny, tmp_path: Path
) -> None:
    folder = _save_tiny(build_tiny, "unet_film", tmp_path / "model")
    result = export_model(
        folder,
        tmp_path / "deepness.onnx",
        deepness=True,
        fixed_threshold_m=10.0,
        tile_size_px=64,
        overlap_px=16,
    )
    assert set(result.parity) == {"1x64x64", "2x64x64"}
    assert result.max_abs_diff <= TOLERANCE
    metadata = _metadata(result.path)
    assert json.loads(metadata["model_type"]) == "Segmentor"
    assert json.loads(metadata["class_names"]) == {"0": "canopy", "1": "gap"}
    assert json.loads(metadata["resolution"]) == pytest.approx(50.0)  # cm/px for 0.5 m
    assert json.loads(metadata["tile_size"]) == 64
    assert json.loads(metadata["tiles_overlap"]) == 25  # percent
    mean, std = (
        json.loads(metadata["standardization_mean"]),
        json.loads(metadata["standardization_std"]),
    )
    assert mean == [0.0] and std[0] * 255.0 == pytest.approx(1.0)
    ModelCard.model_validate_json(metadata["forestgaps_model_card"])

    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    (only_input,) = session.get_inputs()
    assert only_input.shape[1:] == [1, 64, 64]
    dsm_m = np.random.default_rng(0).uniform(100, 130, (1, 1, 64, 64)).astype(np.float32)
    (classes,) = session.run(None, {only_input.name: dsm_m})
    assert classes.shape == (1, 2, 64, 64)
    np.testing.assert_allclose(classes.sum(axis=1), 1.0, atol=1e-6)
    # the baked threshold is the one asked for: same as the 3-input graph at 10 m
    full = export_onnx(folder, tmp_path / "full.onnx").path
    full_session = onnxruntime.InferenceSession(str(full), providers=["CPUExecutionProvider"])
    (gap,) = full_session.run(
        None,
        {"dsm_m": dsm_m, "valid": np.ones_like(dsm_m), "threshold_m": np.array([10.0], np.float32)},
    )
    np.testing.assert_allclose(classes[:, 1:], gap, atol=1e-5)


def test_deepness_needs_a_threshold(build_tiny, tmp_path: Path) -> None:
    folder = _save_tiny(build_tiny, "unet", tmp_path / "model")
    with pytest.raises(ModelError, match="--threshold"):
        export_model(folder, tmp_path / "d.onnx", deepness=True)
    assert not (tmp_path / "d.onnx").exists()


def test_parity_catches_a_different_model(build_tiny, tmp_path: Path) -> None:
    first = _save_tiny(build_tiny, "unet", tmp_path / "a", seed=0)
    second = _save_tiny(build_tiny, "unet", tmp_path / "b", seed=1)
    exported = export_onnx(first, tmp_path / "a.onnx").path
    parity = check_parity(second, exported, "onnx", sizes=((1, 32, 32),))
    assert parity["1x32x32"] > 1e-3
    with pytest.raises(ModelError, match="differs from eager"):
        require_parity(parity, exported, TOLERANCE)


def test_failed_parity_writes_nothing(build_tiny, tmp_path: Path, monkeypatch) -> None:
    import forestgaps_engine.models.export.parity as parity_module

    folder = _save_tiny(build_tiny, "unet", tmp_path / "model")
    monkeypatch.setattr(parity_module, "check_parity", lambda *args, **kwargs: {"1x8x8": 0.5})
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelError, match="nothing was written"):
        export_onnx(folder, out / "model.onnx")
    with pytest.raises(ModelError, match="nothing was written"):
        export_torchscript(folder, out / "model.pt")
    with pytest.raises(ModelError, match="nothing was written"):
        export_native(folder, out / "copy")
    assert list(out.iterdir()) == []
    kept = export_model(folder, out / "kept.onnx", check=False)
    assert kept.parity is None and kept.path.is_file()


def test_native_export_is_a_clean_model_folder(build_tiny, tmp_path: Path) -> None:
    folder = _save_tiny(build_tiny, "mobile_unet", tmp_path / "model")
    result = export_model(folder, tmp_path / "copy", format="native")
    assert sorted(p.name for p in result.path.iterdir()) == [
        "model.safetensors",
        "model_card.json",
    ]
    copy, original = load_model(result.path), load_model(folder)
    payload = (result.path / "model.safetensors").read_bytes()
    assert copy.card.model_id == hashlib.sha256(payload).hexdigest()[:12]
    for key, value in original.model.state_dict().items():
        assert torch.equal(copy.model.state_dict()[key], value)
    assert copy.card.architecture == original.card.architecture
    assert result.max_abs_diff == 0.0

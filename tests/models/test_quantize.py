"""OpenVINO int8 quantisation (NNCF): the IR within gap-mask parity, refusals, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# Each quantisation takes 5-30 s on two shared cores.
pytestmark = pytest.mark.slow

pytest.importorskip("nncf")
pytest.importorskip("openvino")

from forestgaps_engine.inference.model_source import as_inference_model  # noqa: E402
from forestgaps_engine.models import create  # noqa: E402
from forestgaps_engine.models.card import ModelCard, load_model, save_model  # noqa: E402
from forestgaps_engine.models.export import export_model  # noqa: E402
from forestgaps_engine.models.export.quantize import (  # noqa: E402
    COMPILE_CONFIG,
    INT8_RECORD,
    INT8_XML,
    MAX_IOU_LOSS,
    CalibrationWindows,
)
from forestgaps_engine.models.normalization import Normalizer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def save_tiny_relief(folder: Path, seed: int = 0) -> Path:
    """A small seeded ``unet_film_relief`` (the default model's architecture) saved as a folder."""
    torch.manual_seed(seed)
    model = create(
        "unet_film_relief",
        base_channels=4,
        depth=2,
        embedding_dim=8,
        ground_window_px=15,
        ground_smoothing_px=3,
    )
    card = ModelCard(
        thresholds_m=[2.0, 5.0, 10.0],
        threshold_range_m=(2.0, 20.0),
        resolution_m=1.0,
        tile_size_px=64,
        data_manifest_hash="test",
        metrics={"val_iou": 0.5},
    )
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, folder)


def small_windows(model: object) -> CalibrationWindows:
    """Eight 64 px windows of the synthetic forests, normalized for ``model``."""
    from forestgaps_engine.inference.int8 import synthetic_windows

    inference_model = as_inference_model(model)
    raw = synthetic_windows(1.0, tile_px=64, site_px=128)
    valid = np.isfinite(raw)
    return CalibrationWindows(
        inputs=inference_model.normalizer(raw, valid),
        valid=valid,
        thresholds_m=(2.0, 11.0, 20.0),
        sources={"synthetic": len(raw), "real": 0, "real_sites": []},
    )


def independent_loss(xml: Path, loaded: object, windows: CalibrationWindows) -> float:
    """1 - IoU of the IR's gap masks against eager PyTorch, computed here from scratch."""
    import openvino

    compiled = openvino.Core().compile_model(str(xml), "CPU", COMPILE_CONFIG)
    k = len(windows.thresholds_m)
    dsm = np.repeat(windows.inputs, k, axis=0)
    thresholds = np.tile(np.asarray(windows.thresholds_m, dtype=np.float32), len(windows.inputs))
    valid = np.repeat(windows.valid, k, axis=0)
    with torch.inference_mode():
        logits = loaded.model(torch.from_numpy(dsm), torch.from_numpy(thresholds)).numpy()
    reference = (logits >= 0) & valid
    mask = (np.asarray(compiled([dsm, thresholds])[0]) >= 0) & valid
    union = np.logical_or(reference, mask).sum()
    return float(1.0 - np.logical_and(reference, mask).sum() / max(union, 1))


@pytest.fixture(scope="module")
def relief_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_relief(tmp_path_factory.mktemp("relief") / "model")


def test_int8_ir_is_written_within_gap_mask_parity(relief_dir: Path, tmp_path: Path) -> None:
    loaded = load_model(relief_dir)
    windows = small_windows(loaded)
    out = tmp_path / "int8"
    result = export_model(relief_dir, out, format="openvino_int8", calibration=windows)
    assert result.path == out / INT8_XML
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [INT8_XML, "model_int8.bin", INT8_RECORD]
    )  # nothing left from the staging folder
    record = json.loads((out / INT8_RECORD).read_text())
    assert record["model_id"] == loaded.card.model_id
    assert record["int8_layers"]["int8"] > 0
    assert record["gap_iou_loss"] == result.parity["gap_iou_loss"] <= MAX_IOU_LOSS
    assert independent_loss(result.path, loaded, windows) <= MAX_IOU_LOSS


def test_int8_export_refuses_a_graph_that_misses_parity(relief_dir: Path, tmp_path: Path) -> None:
    """The graph of another model's weights cannot match this model's masks: refused, no file."""
    from forestgaps_engine.errors import ModelError
    from forestgaps_engine.models.export.onnx import export_logits_onnx
    from forestgaps_engine.models.export.quantize import quantize_int8

    loaded = load_model(relief_dir)
    other = load_model(save_tiny_relief(tmp_path / "other", seed=5))
    onnx_path = export_logits_onnx(other.model, tmp_path / "other.onnx")
    out = tmp_path / "int8" / INT8_XML
    with pytest.raises(ModelError, match="lose .* IoU against PyTorch fp32"):
        quantize_int8(loaded, onnx_path, small_windows(loaded), out)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_export_cli_int8_synthetic_only(relief_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "int8" / INT8_XML
    completed = subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "export", str(relief_dir),
         "--format", "openvino_int8", "--synthetic-only", "--out", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "no real windows (synthetic only)" in completed.stdout
    assert "gap-mask IoU loss" in completed.stdout
    assert out.is_file() and out.with_suffix(".bin").is_file()


def test_export_cli_int8_missing_real_sites_config(relief_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    completed = subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "export", str(relief_dir),
         "--format", "openvino_int8", "--real-sites", str(missing), "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 2
    assert f"--real-sites {missing}: file not found" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / INT8_XML).exists()

"""The ``openvino_int8`` backend: parity with PyTorch, auto's choice, stale models, plain CPUs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Each quantisation takes 5-30 s on two shared cores.
pytestmark = pytest.mark.slow

pytest.importorskip("nncf")
pytest.importorskip("openvino")

from forestgaps_engine.config.inference import InferenceConfig  # noqa: E402
from forestgaps_engine.inference import int8  # noqa: E402
from forestgaps_engine.inference.backends import (  # noqa: E402
    TorchBackend,
    available_backends,
    create_backend,
)
from forestgaps_engine.inference.calibration import (  # noqa: E402
    MAX_IOU_LOSS,
    calibration_tiles,
)
from forestgaps_engine.inference.model_source import as_inference_model  # noqa: E402
from forestgaps_engine.metrics.pixel import confusion_counts  # noqa: E402
from forestgaps_engine.models.card import load_model  # noqa: E402
from forestgaps_engine.models.export import export_model  # noqa: E402
from forestgaps_engine.models.export.quantize import INT8_RECORD, INT8_XML  # noqa: E402
from tests.inference.helpers import forest, write_dsm  # noqa: E402
from tests.models.test_quantize import save_tiny_relief, small_windows  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
THRESHOLDS_M = [2.0, 11.0, 20.0]


@pytest.fixture(scope="module")
def int8_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny relief model with its int8 IR exported beside the weights."""
    folder = save_tiny_relief(tmp_path_factory.mktemp("int8") / "model")
    export_model(folder, folder, format="openvino_int8", calibration=small_windows(folder))
    return folder


@pytest.fixture
def small_lazy_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lazy quantisation on 64 px windows of 128 px forests: seconds, not a minute."""
    monkeypatch.setattr(int8, "WINDOW_PX", 64)
    monkeypatch.setattr(int8, "SYNTH_SITE_PX", 128)


def masks_loss(backend: object, loaded: object) -> float:
    """1 - IoU of ``backend``'s gap masks against eager PyTorch on auto's tiles."""
    model = as_inference_model(loaded)
    raw, valid = calibration_tiles()
    normalized = model.normalizer(raw, valid)
    k = len(THRESHOLDS_M)
    dsm = np.repeat(normalized, k, axis=0)
    thresholds = np.tile(np.asarray(THRESHOLDS_M, dtype=np.float32), len(raw))
    valid_k = np.repeat(valid, k, axis=0)
    reference = (TorchBackend(loaded.model).run(dsm, thresholds) >= 0.5) & valid_k
    return 1.0 - confusion_counts((backend.run(dsm, thresholds) >= 0.5) & valid_k, reference).iou


def test_int8_backend_agrees_with_pytorch(int8_model_dir: Path) -> None:
    loaded = load_model(int8_model_dir)
    backend = create_backend(loaded, "openvino_int8", "cpu")
    assert backend.name == "openvino_int8"
    assert masks_loss(backend, loaded) <= MAX_IOU_LOSS


def test_predict_with_int8_backend(int8_model_dir: Path, tmp_path: Path) -> None:
    from forestgaps_engine.inference import predict

    dsm = write_dsm(tmp_path / "dsm.tif", forest(160))
    config = InferenceConfig(tile_size_px=64, overlap_px=8, backend="openvino_int8")
    result = predict(dsm, [5.0], load_model(int8_model_dir), tmp_path / "out", config)
    assert result.summary["backend"] == "openvino_int8"
    torch_config = config.model_copy(update={"backend": "torch"})
    reference = predict(dsm, [5.0], load_model(int8_model_dir), tmp_path / "ref", torch_config)
    import rasterio

    def mask(outcome: object) -> np.ndarray:
        with rasterio.open(outcome.thresholds[0].mask_path) as dataset:
            return dataset.read(1) == 1

    assert mask(reference).any()
    assert 1.0 - confusion_counts(mask(result), mask(reference)).iou <= MAX_IOU_LOSS


def test_int8_is_quantised_lazily_into_the_cache(
    int8_model_dir: Path, tmp_path: Path, small_lazy_windows: None
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(int8_model_dir, folder, ignore=shutil.ignore_patterns("model_int8*"))
    model = as_inference_model(load_model(folder))
    assert "openvino_int8" not in available_backends(model, "cpu")  # not quantised unasked
    backend = create_backend(model, "openvino_int8", "cpu")
    cached = int8.cache_path(model)
    assert cached.is_file() and json.loads(cached.with_suffix(".json").read_text())[
        "sources"
    ] == {"synthetic": 8 + int8.AUTO_TILES, "real": 0, "real_sites": []}
    assert masks_loss(backend, model.loaded) <= MAX_IOU_LOSS
    written_ns = cached.stat().st_mtime_ns
    create_backend(model, "openvino_int8", "cpu")
    assert cached.stat().st_mtime_ns == written_ns  # reused, not quantised again
    assert "openvino_int8" in available_backends(model, "cpu")


def test_auto_offers_int8_when_it_passes_parity(int8_model_dir: Path) -> None:
    calibration: dict = {}
    create_backend(load_model(int8_model_dir), "auto", "cpu", calibration=calibration)
    figures = calibration["backends"]["openvino_int8"]
    assert figures["agrees"] is True
    assert figures["gap_iou_loss"] <= MAX_IOU_LOSS


def test_auto_skips_int8_that_fails_parity(int8_model_dir: Path, tmp_path: Path) -> None:
    """An int8 IR of other weights, its record naming this model: auto measures and skips it."""
    folder = tmp_path / "model"
    shutil.copytree(int8_model_dir, folder, ignore=shutil.ignore_patterns("model_int8*"))
    other = save_tiny_relief(tmp_path / "other", seed=5)
    export_model(other, other, format="openvino_int8", calibration=small_windows(other))
    for name in (INT8_XML, "model_int8.bin", INT8_RECORD):
        shutil.copy(other / name, folder / name)
    record = json.loads((folder / INT8_RECORD).read_text())
    record["model_id"] = load_model(folder).card.model_id
    (folder / INT8_RECORD).write_text(json.dumps(record))
    calibration: dict = {}
    create_backend(load_model(folder), "auto", "cpu", calibration=calibration)
    figures = calibration["backends"]["openvino_int8"]
    assert figures["agrees"] is False and figures["gap_iou_loss"] > MAX_IOU_LOSS
    assert calibration["chosen"] != "openvino_int8"


def test_stale_int8_ir_is_not_used(int8_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(int8_model_dir, folder)
    record = json.loads((folder / INT8_RECORD).read_text())
    record["model_id"] = "retrained0000"
    (folder / INT8_RECORD).write_text(json.dumps(record))
    model = as_inference_model(load_model(folder))
    assert int8.existing_int8_path(model) is None
    assert "openvino_int8" not in available_backends(model, "cpu")


NO_VNNI_SCRIPT = """
import json, sys
import numpy as np, openvino
from forestgaps_engine.inference.backends import create_backend
from forestgaps_engine.models.card import load_model
from tests.inference.test_int8 import masks_loss
loaded = load_model(sys.argv[1])
backend = create_backend(loaded, "openvino_int8", "cpu")
kernels = sorted({
    str(op.get_rt_info()["primitiveType"].astype(str))
    for op in backend._compiled.get_runtime_model().get_ordered_ops()
    if op.get_rt_info()["layerType"].astype(str) == "Convolution"
})
print(json.dumps({"kernels": kernels, "loss": masks_loss(backend, loaded)}))
"""


def test_int8_runs_on_a_cpu_without_vnni_or_amx(int8_model_dir: Path, tmp_path: Path) -> None:
    """oneDNN capped at AVX-512 without VNNI (``ONEDNN_MAX_CPU_ISA``): plain int8 kernels."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx512f" not in flags:
        pytest.skip("no AVX-512 CPU to cap below VNNI; the other int8 tests run it natively")
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "PYTHONPATH": str(REPO)}
    completed = subprocess.run(
        [sys.executable, "-c", NO_VNNI_SCRIPT, str(int8_model_dir)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    int8_kernels = [name for name in report["kernels"] if "I8" in name]
    assert int8_kernels, report  # the int8 layers still run int8
    assert not [name for name in report["kernels"] if "amx" in name or "vnni" in name], report
    assert report["loss"] <= MAX_IOU_LOSS

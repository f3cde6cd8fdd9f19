"""``predict`` runs from an exported ``model.onnx`` with torch blocked from importing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import ModelError
from forestgaps_engine.inference import predict
from forestgaps_engine.inference.model_source import _torch_free_model
from forestgaps_engine.models.export import export_model
from tests.inference.helpers import forest, write_dsm

REPO = Path(__file__).resolve().parents[2]

BLOCK_TORCH = textwrap.dedent(
    """
    import json, sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked in this test")

    sys.meta_path.insert(0, BlockTorch())
    """
)
CHILD = BLOCK_TORCH + textwrap.dedent(
    """
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.inference import predict

    dsm, model, out, backend = sys.argv[1:5]
    config = InferenceConfig(tile_size_px=64, overlap_px=16, min_gap_area_m2=0, backend=backend)
    result = predict(dsm, [5.0], model, out, config)
    print(json.dumps({"torch_loaded": "torch" in sys.modules,
                      "backend": result.summary["backend"]}))
    """
)


def _exported(source: Path, folder: Path, include_normalization: bool) -> Path:
    import shutil

    shutil.copytree(source, folder)
    export_model(folder, folder / "model.onnx", include_normalization=include_normalization)
    return folder


@pytest.fixture(scope="module")
def exported_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny model with the default export (normalization inside) beside it."""
    return _exported(tiny_model_dir, tmp_path_factory.mktemp("exported") / "model", True)


def _run_without_torch(dsm: Path, model: Path, out: Path, backend: str, cache: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(dsm), str(model), str(out), backend],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"FORESTGAPS_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO), "PATH": "/usr/bin"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("graph", ["raw", "normalized"])
def test_predict_without_torch_matches_torch(tmp_path, exported_dir, tiny_model_dir, graph):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(90))
    model = exported_dir
    if graph == "normalized":  # `forestgaps export --no-normalization`: NumPy normalizes
        model = _exported(tiny_model_dir, tmp_path / "model", include_normalization=False)
    report = _run_without_torch(dsm, model, tmp_path / "free", "auto", tmp_path / "c")
    assert report == {"torch_loaded": False, "backend": report["backend"]}
    assert report["backend"] in ("onnxruntime", "openvino", "openvino_bf16")
    config = InferenceConfig(tile_size_px=64, overlap_px=16, min_gap_area_m2=0, backend="torch")
    reference = predict(dsm, [5.0], tiny_model_dir, tmp_path / "torch", config)
    with rasterio.open(reference.thresholds[0].probability_path) as dataset:
        expected = dataset.read(1)
    with rasterio.open(tmp_path / "free" / "gap_probability_t5.tif") as dataset:
        actual = dataset.read(1)
    assert np.abs(actual - expected).max() < 1e-3
    summary = json.loads((tmp_path / "free" / "summary.json").read_text())
    assert summary["backend_calibration"]["reference"] == "onnxruntime"


def test_torch_backend_without_torch_says_how_to_fix(tmp_path, exported_dir):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(40))
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(dsm), str(exported_dir), str(tmp_path / "o"), "torch"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"FORESTGAPS_CACHE_DIR": str(tmp_path / "c"), "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert completed.returncode != 0
    assert "needs PyTorch" in completed.stderr


def test_folder_without_onnx_is_a_model_error(tiny_model_dir):
    with pytest.raises(ModelError, match="no model.onnx"):
        _torch_free_model(tiny_model_dir)


def test_bundled_default_model_runs_without_torch(tmp_path):
    """The plugin's light install: the shipped model.onnx alone, torch blocked."""
    dsm = write_dsm(tmp_path / "dsm.tif", forest(150))
    values = rasterio.open(dsm).read(1)
    report = _run_without_torch(dsm, Path("default"), tmp_path / "free", "onnxruntime", tmp_path)
    assert report == {"torch_loaded": False, "backend": "onnxruntime"}
    config = InferenceConfig(tile_size_px=64, overlap_px=16, min_gap_area_m2=0, backend="torch")
    reference = predict(dsm, [5.0], "default", tmp_path / "torch", config)
    with rasterio.open(reference.thresholds[0].probability_path) as dataset:
        expected = dataset.read(1)
    with rasterio.open(tmp_path / "free" / "gap_probability_t5.tif") as dataset:
        actual = dataset.read(1)
    assert expected.shape == values.shape
    assert np.abs(actual - expected).max() < 1e-3


def _exported_only(exported_dir: Path, folder: Path) -> Path:
    """What a user copies to a machine without PyTorch: the card and model.onnx alone."""
    import shutil

    folder.mkdir()
    for name in ("model_card.json", "model.onnx"):
        shutil.copy(exported_dir / name, folder / name)
    return folder


def test_an_exported_folder_runs_where_torch_is_installed(tmp_path, exported_dir):
    from forestgaps_engine.inference.model_source import is_exported_only, model_card_file

    folder = _exported_only(exported_dir, tmp_path / "exported_only")
    assert is_exported_only(folder) and not is_exported_only(exported_dir)
    assert model_card_file(folder) == folder / "model_card.json"
    dsm = write_dsm(tmp_path / "dsm.tif", forest(90))
    config = InferenceConfig(tile_size_px=64, overlap_px=16, min_gap_area_m2=0)
    exported = predict(dsm, [5.0], folder, tmp_path / "onnx", config)
    assert exported.summary["backend"] in ("onnxruntime", "openvino", "openvino_bf16")
    reference = predict(
        dsm, [5.0], exported_dir, tmp_path / "torch", config.model_copy(update={"backend": "torch"})
    )
    with rasterio.open(exported.thresholds[0].probability_path) as dataset:
        actual = dataset.read(1)
    with rasterio.open(reference.thresholds[0].probability_path) as dataset:
        expected = dataset.read(1)
    assert np.abs(actual - expected).max() < 1e-2


def test_the_torch_backend_on_an_exported_folder_asks_for_the_weights(tmp_path, exported_dir):
    from forestgaps_engine.errors import InferenceError

    folder = _exported_only(exported_dir, tmp_path / "exported_only")
    dsm = write_dsm(tmp_path / "dsm.tif", forest(40))
    config = InferenceConfig(tile_size_px=64, overlap_px=16, backend="torch")
    with pytest.raises(InferenceError, match="holds only the exported model.onnx"):
        predict(dsm, [5.0], folder, tmp_path / "out", config)
    assert not (tmp_path / "out" / "gap_probability_t5.tif").exists()


CARD_CHILD = BLOCK_TORCH + textwrap.dedent(
    """
    from forestgaps_engine.models.card import read_card
    from forestgaps_engine.inference.model_source import model_card_file
    from forestgaps_engine.evaluation.api import evaluate

    card = read_card(model_card_file("default"))
    dsm, chm, out = sys.argv[1:4]
    result = evaluate({"dsm": dsm, "chm": chm}, "default", [5.0], out)
    print(json.dumps({"torch_loaded": "torch" in sys.modules, "model_id": card.model_id,
                      "methods": sorted({item.method for item in result.scores})}))
    """
)


def test_cards_and_evaluation_need_no_torch(tmp_path):
    """The QGIS panel reads cards, and evaluate scores the model, in a light install."""
    from forestgaps_engine.models.card import DEFAULT_MODEL_DIR

    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("no bundled default model in resources/models/default")
    heights = forest(120)
    dsm = write_dsm(tmp_path / "dsm.tif", heights)
    chm = write_dsm(tmp_path / "chm.tif", heights - 200.0)
    completed = subprocess.run(
        [sys.executable, "-c", CARD_CHILD, str(dsm), str(chm), str(tmp_path / "evaluation")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"FORESTGAPS_CACHE_DIR": str(tmp_path / "c"), "PYTHONPATH": str(REPO)},
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["torch_loaded"] is False
    assert len(report["model_id"]) == 12
    assert "model" in report["methods"]

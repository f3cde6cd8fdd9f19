"""predict runs a model sized in metres on the DSM's own cell size, on every backend (#24).

The untrained relief model with a metric ground window is the DSM-only baseline's rule, so
``predict`` on a DSM at 0.5 m and at 2 m must give the baseline's mask. Exported graphs hold
one cell size; another is exported into the cache and gives what eager PyTorch gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import InferenceError
from forestgaps_engine.evaluation.baselines import estimate_ground_m
from forestgaps_engine.inference.api import predict
from forestgaps_engine.inference.backends import create_backend, export_onnx
from forestgaps_engine.inference.cell_size import bind_cell_size, native_range
from forestgaps_engine.inference.model_source import as_inference_model
from forestgaps_engine.models import create
from forestgaps_engine.models.card import load_model, save_model
from forestgaps_engine.models.normalization import Normalizer
from tests.inference.helpers import card_for, write_dsm
from tests.models.test_metric_ground import METRIC, _hillside_forest

ONE_WINDOW = InferenceConfig(tile_size_px=128, overlap_px=0, batch_size=2, backend="torch",
                             model_thread=False)  # fmt: skip


@pytest.fixture(scope="module")
def metric_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained relief model with a 12 m window, trained (card) at 1 m, native 0.5-2 m."""
    torch.manual_seed(0)
    model = create("unet_film_relief", **METRIC)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    model.calibrate_height_unit(30.0)
    card = card_for().model_copy(
        update={
            "architecture": "unet_film_relief",
            "params": METRIC,
            "native_resolutions_m": (0.5, 2.0),
        }  # fmt: skip
    )
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("metric") / "model")


@pytest.mark.parametrize("cell_m", [0.5, 2.0])
def test_predict_gives_the_baselines_mask_on_the_dsms_cells(
    metric_model_dir: Path, tmp_path: Path, cell_m: float
) -> None:
    dsm = _hillside_forest(96, cell_m)
    dsm_path = write_dsm(tmp_path / "dsm.tif", dsm, resolution_m=cell_m)
    result = predict(dsm_path, [5.0], metric_model_dir, tmp_path / "out", ONE_WINDOW)
    with rasterio.open(result.thresholds[0].probability_path) as source:
        assert source.res == (cell_m, cell_m)
        probability = source.read(1)
    ground = estimate_ground_m(dsm, np.ones(dsm.shape, bool), cell_m, 12.0, 1.5)
    relief = dsm - ground
    clear = np.abs(relief - 5.0) > 1e-3
    assert np.array_equal((probability >= 0.5)[clear], (relief <= 5.0)[clear])


def test_a_graph_is_exported_per_cell_size(metric_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    loaded = load_model(metric_model_dir)
    graph = create_backend(loaded, "onnxruntime", "cpu", cache_dir=tmp_path / "cache")
    eager = create_backend(loaded, "torch", "cpu")
    dsm = _hillside_forest(64, 0.5)[None, None]
    dsm_norm = ((dsm - dsm.min()) / 30.0).astype(np.float32)
    thresholds = np.array([5.0], np.float32)
    fine = bind_cell_size(graph, loaded, 0.5, cache_dir=tmp_path / "cache")
    assert fine is not graph
    assert any(p.name.endswith("-0.5m.onnx") for p in (tmp_path / "cache").glob("*.onnx"))
    eager = bind_cell_size(eager, loaded, 0.5)
    np.testing.assert_allclose(fine.run(dsm_norm, thresholds), eager.run(dsm_norm, thresholds),
                               atol=1e-4)  # fmt: skip
    # The card's own cell size keeps the graph it was built with.
    assert bind_cell_size(graph, loaded, 1.0, cache_dir=tmp_path / "cache") is graph


def test_a_model_sized_in_cells_is_left_alone(tmp_path: Path) -> None:
    model = create("unet_film_relief", base_channels=4, depth=2, embedding_dim=8)
    card = card_for().model_copy(update={"architecture": "unet_film_relief",
                                         "params": {"base_channels": 4, "depth": 2,
                                                    "embedding_dim": 8}})  # fmt: skip
    folder = save_model(model, Normalizer("robust_percentile", {"relief_range_m": 30.0}),
                        card, tmp_path / "model")  # fmt: skip
    loaded = load_model(folder)
    backend = create_backend(loaded, "torch", "cpu")
    assert bind_cell_size(backend, loaded, 0.5) is backend
    assert native_range(as_inference_model(loaded), (0.5, 2.0)) == (0.5, 2.0)


def _graph_only_install(metric_model_dir: Path, tmp_path: Path) -> Path:
    """The metric model as a torch-free install ships it: its card and its ONNX graph."""
    pytest.importorskip("onnxruntime")
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "model_card.json").write_bytes((metric_model_dir / "model_card.json").read_bytes())
    export_onnx(load_model(metric_model_dir).model, folder / "model.onnx")
    return folder


def test_graph_only_install_resamples_to_the_graphs_cells(
    metric_model_dir: Path, tmp_path: Path
) -> None:
    folder = _graph_only_install(metric_model_dir, tmp_path)
    graph_only = as_inference_model(folder)
    assert graph_only.network is None
    assert native_range(graph_only, (0.5, 2.0)) == (1.0, 1.0)
    backend = create_backend(graph_only, "onnxruntime", "cpu")
    with pytest.raises(InferenceError, match="exported graph runs on 1 m cells"):
        bind_cell_size(backend, graph_only, 0.5)
    # predict resamples a 0.5 m DSM onto the graph's 1 m cells and back.
    dsm_path = write_dsm(tmp_path / "dsm.tif", _hillside_forest(96, 0.5), resolution_m=0.5)
    config = ONE_WINDOW.model_copy(update={"backend": "onnxruntime"})
    result = predict(dsm_path, [5.0], folder, tmp_path / "out", config)
    with rasterio.open(result.thresholds[0].probability_path) as source:
        assert source.res == (0.5, 0.5)


def test_two_grids_sharing_one_module_each_keep_their_cell_size(metric_model_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    loaded = load_model(metric_model_dir)
    shared = create_backend(loaded, "torch", "cpu")
    fine, coarse = bind_cell_size(shared, loaded, 0.5), bind_cell_size(shared, loaded, 2.0)
    dsm = _hillside_forest(64, 1.0)[None, None]
    dsm_norm = ((dsm - dsm.min()) / 30.0).astype(np.float32)
    thresholds = np.array([5.0], np.float32)
    alone = {0.5: fine.run(dsm_norm, thresholds), 2.0: coarse.run(dsm_norm, thresholds)}
    assert not np.allclose(alone[0.5], alone[2.0])
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(b.run, dsm_norm, thresholds) for b in (fine, coarse) * 4]
        results = [run.result() for run in runs]
    for backend, result in zip((fine, coarse) * 4, results, strict=True):
        np.testing.assert_array_equal(result, alone[backend.cell_size_m])


def test_graph_only_runs_cells_near_its_own_unresampled(
    metric_model_dir: Path, tmp_path: Path
) -> None:
    folder = _graph_only_install(metric_model_dir, tmp_path)
    dsm_path = write_dsm(tmp_path / "dsm.tif", _hillside_forest(96, 1.05), resolution_m=1.05)
    config = ONE_WINDOW.model_copy(update={"backend": "onnxruntime"})
    result = predict(dsm_path, [5.0], folder, tmp_path / "out", config)
    with rasterio.open(result.thresholds[0].probability_path) as source:
        assert source.res == (1.05, 1.05)

"""The bundled default model (resources/models/default/, built by `make pretrained`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config import load_config
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.models.card import DEFAULT_MODEL_DIR, load_model

MAX_TOTAL_MB = 20.0


def test_default_model_loads_by_name() -> None:
    loaded = load_model("default")
    card = loaded.card
    assert card.architecture == "unet_film_relief"
    assert card.thresholds_m == [2.0, 5.0, 10.0, 15.0, 20.0]
    assert card.resolution_m == pytest.approx(1.0)
    assert card.model_id and card.metrics["val_iou"] > 0.5
    assert not loaded.model.training


def test_default_model_folder_is_small_and_complete() -> None:
    names = {path.name for path in DEFAULT_MODEL_DIR.iterdir()}
    assert {"model.safetensors", "model_card.json"} <= names
    total_mb = sum(path.stat().st_size for path in DEFAULT_MODEL_DIR.iterdir()) / 2**20
    assert total_mb <= MAX_TOTAL_MB


def test_shipped_onnx_is_a_graph_inference_can_run() -> None:
    onnx_path = DEFAULT_MODEL_DIR / "model.onnx"
    if not onnx_path.is_file():
        pytest.skip("no model.onnx shipped")
    pytest.importorskip("onnx")
    from forestgaps_engine.inference.backends import GRAPH_RAW, shipped_graph_kind

    # `forestgaps export --format onnx`: raw metres + validity in, probability out, so the
    # torch-free path (ONNX Runtime / OpenVINO) can run the folder alone.
    assert shipped_graph_kind(onnx_path) == GRAPH_RAW
    # Its trunk runs once per window for all thresholds, in the exported graph too.
    pytest.importorskip("onnxruntime")
    from forestgaps_engine.inference.backends import OnnxRuntimeBackend

    assert OnnxRuntimeBackend(onnx_path).shares_windows


def test_default_model_finds_gaps_on_an_unseen_synthetic_forest(tmp_path: Path) -> None:
    from forestgaps_engine.inference.api import predict
    from forestgaps_engine.synth.forest import write_synthetic_site

    # Seed 9100: outside the training seeds (0-35) of configs/pretrained.yaml.
    site = write_synthetic_site(tmp_path / "site", 192, resolution_m=1.0, seed=9100)
    # Patches bounded as the reference's (ForestGapR's 1-10000 m²).
    config = InferenceConfig(
        tile_size_px=192,
        overlap_px=16,
        batch_size=1,
        device="cpu",
        backend="torch",
        min_gap_area_m2=1.0,
        max_gap_area_m2=10000.0,
    )
    result = predict(site["dsm"], [5.0], "default", tmp_path / "out", config)
    with rasterio.open(result.thresholds[0].mask_path) as source:
        predicted = source.read(1) == 1
    with rasterio.open(site["chm"]) as source:
        chm = source.read(1, masked=True).filled(np.nan).astype(np.float32)
    reference = label_gaps(chm, 5.0, 1.0, 1.0, 10000.0) > 0
    iou = (predicted & reference).sum() / max((predicted | reference).sum(), 1)
    # Well above 0.8 with the shipped model; the earlier unet_film default scored 0.6-0.7.
    assert iou > 0.8


ROOT = Path(__file__).resolve().parents[1]


def test_default_model_is_trained_on_the_real_corpus() -> None:
    card = load_model("default").card
    trained = {site.name for site in load_config(ROOT / "configs/pretrained.yaml").data.sites}
    corpus = {site.name for site in load_config(ROOT / "configs/real_sites.yaml").data.sites}
    recorded = {name for source in card.data_sources or [] for name in source["sites"]}
    # The card names the real sites it was trained on, all from the config that built it,
    # which takes every site of the corpus (data.sites_from).
    assert recorded <= trained
    assert corpus <= trained
    assert card.params["ground_window_m"] == 40.0


def test_real_site_table_scores_each_site_with_a_model_that_never_saw_it() -> None:
    """docs/benchmark/real_sites.json: `make pretrained`'s evaluate-real --folds 3."""
    report = json.loads((ROOT / "docs/benchmark/real_sites.json").read_text("utf-8"))
    corpus = {site.name: site for site in load_config(ROOT / "configs/real_sites.yaml").data.sites}
    folds = report["folds"]
    assert sorted(name for fold in folds for name in fold) == sorted(corpus)
    sources = [{corpus[name].source_dir or name for name in fold} for fold in folds]
    assert all(not a & b for i, a in enumerate(sources) for b in sources[i + 1 :])
    default_id = load_model("default").card.model_id
    for row in report["sites"]:
        assert row["site"] in folds[row["fold"]]
        assert row["model_id"] == report["model_ids"][row["fold"]] != default_id

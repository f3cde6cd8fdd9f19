"""POST /predict: round trip, agreement with a direct predict() call, downloads, concurrency."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.inference.api import predict
from tests.serve.conftest import vertices


def post_dsm(client, path: Path, **fields: str):  # noqa: ANN001, ANN201 - test helper
    return client.post(
        "/predict", files={"file": (path.name, path.read_bytes(), "image/tiff")}, data=fields
    )


@pytest.fixture
def cutoff(
    dsm: Path, tiny_model_dir: Path, service_config: ForestGapsConfig, tmp_path: Path
) -> str:
    """A cut-off at the median probability of the untrained model, so that gaps exist."""
    result = predict(dsm, [5.0], tiny_model_dir, tmp_path / "probe", service_config.inference)
    with rasterio.open(result.thresholds[0].probability_path) as dataset:
        return f"{float(np.median(dataset.read(1))):.6f}"


def test_round_trip_matches_a_direct_predict_call(
    client, dsm: Path, cutoff: str, tiny_model_dir: Path, service_config, tmp_path: Path
) -> None:
    response = post_dsm(client, dsm, thresholds="10, 5", probability_cutoff=cutoff)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["input"] == {
        "name": "plot.tif",
        "crs": "EPSG:2154",
        "width_px": 48,
        "height_px": 48,
        "resolution_m": [1.0, 1.0],
    }
    assert body["geojson_crs"] == "EPSG:4326"
    inference = service_config.inference.model_copy(update={"probability_cutoff": float(cutoff)})
    direct = predict(dsm, [5.0, 10.0], tiny_model_dir, tmp_path / "direct", inference)
    assert [t["threshold_m"] for t in body["thresholds"]] == [5.0, 10.0]
    for served, expected in zip(body["thresholds"], direct.thresholds, strict=True):
        assert served["n_gaps"] == expected.n_gaps
        assert served["total_gap_area_m2"] == pytest.approx(expected.total_gap_area_m2)
        assert served["gap_fraction"] == pytest.approx(expected.gap_fraction)
        mask = client.get(served["files"]["mask"])
        assert mask.status_code == 200
        assert mask.headers["content-type"] == "image/tiff"
        with rasterio.MemoryFile(mask.content) as memory, memory.open() as dataset:
            assert dataset.crs.to_string() == "EPSG:2154"
            assert (dataset.height, dataset.width) == (48, 48)
            with rasterio.open(expected.mask_path) as reference:
                np.testing.assert_array_equal(dataset.read(1), reference.read(1))
        gaps = json.loads(client.get(served["files"]["gaps_geojson"]).content)
        assert gaps["type"] == "FeatureCollection"
        assert len(gaps["features"]) == expected.n_gaps
        for feature in gaps["features"]:
            lon, lat = vertices(feature["geometry"]).mean(axis=0)
            assert -5 < lon < 10 and 40 < lat < 52  # EPSG:2154 around (650000, 6860000)
    assert any(t["n_gaps"] > 0 for t in body["thresholds"])
    assert body["summary"]["dsm"] == "plot.tif"
    assert "path" not in body["summary"]["model"]


def test_geojson_in_the_input_crs_has_areas(client, dsm: Path, cutoff: str) -> None:
    response = post_dsm(client, dsm, thresholds="5", probability_cutoff=cutoff, geojson_crs="input")
    body = response.json()
    assert body["geojson_crs"] == "EPSG:2154"
    gaps = client.get(body["thresholds"][0]["files"]["gaps_geojson"]).json()
    assert gaps["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::2154"
    area_m2 = sum(feature["properties"]["area_m2"] for feature in gaps["features"])
    assert area_m2 == pytest.approx(body["thresholds"][0]["total_gap_area_m2"])
    for feature in gaps["features"]:
        x, y = vertices(feature["geometry"]).T
        assert (650000 <= x).all() and (x <= 650048).all()
        assert (6859952 <= y).all() and (y <= 6860000).all()


def test_request_options_reach_the_engine(client, dsm: Path) -> None:
    body = post_dsm(client, dsm, thresholds="5", tile_size_px="32", overlap_px="4").json()
    assert body["summary"]["config"]["tile_size_px"] == 32
    assert body["summary"]["config"]["overlap_px"] == 4
    assert body["summary"]["n_tiles"] > 1


def test_threshold_outside_the_trained_range_warns(client, dsm: Path) -> None:
    body = post_dsm(client, dsm, thresholds="25").json()
    assert "outside the range" in body["warnings"][0]


def test_concurrent_requests_all_succeed_with_identical_results(
    client, dsm: Path, cutoff: str
) -> None:
    def one(_index: int) -> tuple[list, bytes]:
        response = post_dsm(client, dsm, thresholds="5,10", probability_cutoff=cutoff)
        assert response.status_code == 200, response.text
        body = response.json()
        mask = client.get(body["thresholds"][0]["files"]["mask"]).content
        figures = [(t["n_gaps"], t["total_gap_area_m2"]) for t in body["thresholds"]]
        return figures, mask

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(4)))
    figures = [item[0] for item in results]
    assert all(item == figures[0] for item in figures)
    masks = []
    for _figures, content in results:
        with rasterio.MemoryFile(content) as memory, memory.open() as dataset:
            masks.append(dataset.read(1))
    for mask in masks[1:]:
        np.testing.assert_array_equal(mask, masks[0])

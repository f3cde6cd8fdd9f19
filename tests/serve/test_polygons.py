"""Polygons are files: the GeoPackage the engine wrote, and GeoJSON made from it by GDAL.

A pit every 3 m gives thousands of gaps from a small upload; none of them may pass
through the JSON answer or be reprojected one at a time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from forestgaps_engine.inference.api import predict
from tests.serve.conftest import CRS, vertices


def pits_dsm(path: Path, size_px: int) -> Path:
    """A wavy canopy with a 20 m pit every 3 cells (1 m cells), deflate-compressed."""
    rows, cols = np.mgrid[0:size_px, 0:size_px]
    heights = (220.0 + 3.0 * np.sin(rows / 4.0) * np.cos(cols / 5.0)).astype(np.float32)
    heights[(rows % 3 == 0) & (cols % 3 == 0)] = 200.0
    with rasterio.open(
        path, "w", driver="GTiff", height=size_px, width=size_px, count=1, dtype="float32",
        crs=CRS, transform=Affine(1.0, 0, 650000.0, 0, -1.0, 6860000.0),
        compress="deflate", tiled=True,
    ) as dataset:  # fmt: skip
        dataset.write(heights, 1)
    return path


@pytest.fixture
def pits(tmp_path: Path) -> Path:
    return pits_dsm(tmp_path / "pits.tif", 512)


@pytest.fixture
def pits_fields(pits: Path, tiny_model_dir: Path, service_config, tmp_path: Path) -> dict:
    """Form fields giving thousands of gaps: the untrained model's 80th percentile
    probability as cut-off (a speckle of small patches), no area floor."""
    inference = service_config.inference.model_copy(update={"min_gap_area_m2": 0.0})
    result = predict(pits, [5.0], tiny_model_dir, tmp_path / "probe", inference)
    with rasterio.open(result.thresholds[0].probability_path) as dataset:
        cutoff = float(np.quantile(dataset.read(1), 0.8))
    return {"thresholds": "5", "min_gap_area_m2": "0", "probability_cutoff": f"{cutoff:.6f}"}


def post(client, path: Path, fields: dict):  # noqa: ANN001, ANN201 - test helper
    return client.post(
        "/predict", files={"file": (path.name, path.read_bytes(), "image/tiff")}, data=fields
    )


def test_many_gaps_stay_out_of_the_answer_and_come_from_the_geopackage(
    client, pits: Path, pits_fields: dict, tmp_path: Path
) -> None:
    response = post(client, pits, pits_fields)
    assert response.status_code == 200, response.text
    (served,) = response.json()["thresholds"]
    assert served["n_gaps"] > 10_000
    # The answer is figures and links, whatever the number of gaps.
    assert len(response.content) < 16_000
    assert "coordinates" not in response.text
    gpkg = client.get(served["files"]["gaps_gpkg"])
    assert gpkg.status_code == 200
    (tmp_path / "gaps.gpkg").write_bytes(gpkg.content)
    with sqlite3.connect(tmp_path / "gaps.gpkg") as connection:
        (n_rows,) = connection.execute("SELECT count(*) FROM gaps").fetchone()
    assert n_rows == served["n_gaps"]


def test_geojson_in_wgs84_is_made_by_gdal_in_one_pass(
    client, pits: Path, pits_fields: dict
) -> None:
    (served,) = post(client, pits, pits_fields).json()["thresholds"]
    started = time.perf_counter()
    response = client.get(served["files"]["gaps_geojson"])
    elapsed_s = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    # One transform_geom call per gap took 3.8 ms a gap: over a minute here.
    assert elapsed_s < 20.0, elapsed_s
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection  # RFC 7946: WGS 84 longitude, latitude
    features = collection["features"]
    assert sorted(f["properties"]["gap_id"] for f in features) == list(
        range(1, served["n_gaps"] + 1)
    )
    lon, lat = np.concatenate([vertices(feature["geometry"]) for feature in features]).T
    assert (-1 < lon).all() and (lon < 4).all() and (47 < lat).all() and (lat < 51).all()
    # Made once, then served from disk.
    again = client.get(served["files"]["gaps_geojson"])
    assert again.content == response.content


def test_geojson_in_the_input_crs_keeps_areas(client, pits: Path, pits_fields: dict) -> None:
    body = post(client, pits, {**pits_fields, "geojson_crs": "input"}).json()
    assert body["geojson_crs"] == "EPSG:2154"
    (served,) = body["thresholds"]
    collection = client.get(served["files"]["gaps_geojson"]).json()
    assert collection["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::2154"
    area_m2 = sum(feature["properties"]["area_m2"] for feature in collection["features"])
    assert area_m2 == pytest.approx(served["total_gap_area_m2"])


def test_without_ogr2ogr_the_geopackage_is_offered_alone(
    client, dsm: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    body = post(client, dsm, {"thresholds": "5"}).json()
    files = body["thresholds"][0]["files"]
    assert "gaps_geojson" not in files and "gaps_gpkg" in files
    assert any("ogr2ogr" in warning for warning in body["warnings"])
    job_id = body["job_id"]
    response = client.get(f"/results/{job_id}/gaps_t5.geojson")
    assert response.status_code == 404

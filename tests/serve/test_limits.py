"""Limits checked before any work: the grid the model runs on, and the gaps it could hold."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.serve import create_app
from forestgaps_engine.serve.limits import max_gap_count
from tests.serve.conftest import CRS, local_client


def with_serve(config: ForestGapsConfig, **values: object) -> ForestGapsConfig:
    return config.model_copy(update={"serve": config.serve.model_copy(update=values)})


def coarse_dsm(path: Path, size_px: int, cell_m: float) -> Path:
    heights = np.full((size_px, size_px), 220.0, np.float32)
    heights[: size_px // 2, : size_px // 2] = 201.0
    with rasterio.open(
        path, "w", driver="GTiff", height=size_px, width=size_px, count=1, dtype="float32",
        crs=CRS, transform=Affine(cell_m, 0, 650000.0, 0, -cell_m, 6860000.0),
    ) as dataset:  # fmt: skip
        dataset.write(heights, 1)
    return path


def post(client, path: Path, **fields: str):  # noqa: ANN001, ANN201 - test helper
    return client.post(
        "/predict", files={"file": (path.name, path.read_bytes(), "image/tiff")}, data=fields
    )


def test_coarse_cells_are_counted_on_the_grid_the_model_runs_on(
    tiny_model_dir, service_config, tmp_path: Path
) -> None:
    # 40 x 40 cells of 50 m: 0.0016 MPix uploaded, 2000 x 2000 px (4 MPix) at the model's 1 m.
    dsm = coarse_dsm(tmp_path / "coarse.tif", 40, 50.0)
    config = with_serve(service_config, max_input_mpix=1.0)
    with local_client(create_app(tiny_model_dir, config)) as client:
        started = time.perf_counter()
        response = post(client, dsm, thresholds="5")
        elapsed_s = time.perf_counter() - started
        metrics = client.get("/metrics").text
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"].startswith("coarse.tif: ")
    for words in ("50 m cells", "1 m", "2000 x 2000 px", "4.0 MPix", "1 MPix limit"):
        assert words in body["error"], body["error"]
    assert "serve.max_input_mpix" in body["hint"]
    assert elapsed_s < 5.0
    assert 'forestgaps_predictions_total{outcome="ok"}' not in metrics


def test_the_gap_count_bound_is_checked_before_work(
    tiny_model_dir, service_config, dsm: Path
) -> None:
    # 48 x 48 px at 1 m, min_gap_area_m2 0: up to 24 x 24 one-cell gaps per threshold.
    config = with_serve(service_config, max_gaps_per_threshold=400)
    with local_client(create_app(tiny_model_dir, config)) as client:
        response = post(client, dsm, thresholds="5", min_gap_area_m2="0")
        assert response.status_code == 413, response.text
        body = response.json()
        assert body["error"].startswith("plot.tif: ")
        assert "576 gaps" in body["error"] and "400" in body["error"]
        assert "min_gap_area_m2" in body["hint"]
        # The area the hint names passes the same check.
        needed_m2 = float(body["hint"].split("min_gap_area_m2=")[1].split()[0])
        again = post(client, dsm, thresholds="5", min_gap_area_m2=f"{needed_m2:g}")
        assert again.status_code == 200, again.text


def test_max_gap_count_is_an_upper_bound() -> None:
    rng = np.random.default_rng(0)
    from scipy import ndimage

    for min_cells in (1, 2, 4, 9):
        for density in (0.2, 0.5, 0.8):
            mask = rng.random((60, 70)) < density
            ids, _n = ndimage.label(mask, structure=np.ones((3, 3)))
            sizes = np.bincount(ids.ravel())[1:]
            kept = int((sizes >= min_cells).sum())
            assert kept <= max_gap_count(70, 60, min_cells)
    # One-cell gaps on every other row and column reach the bound.
    checker = np.zeros((9, 9), bool)
    checker[::2, ::2] = True
    assert max_gap_count(9, 9, 1) == 25


def test_a_prediction_past_the_time_limit_is_stopped(
    tiny_model_dir, service_config, tmp_path: Path
) -> None:
    # 40 x 40 cells of 10 m: 400 x 400 px at 1 m, many batches of 64 px tiles.
    dsm = coarse_dsm(tmp_path / "slow.tif", 40, 10.0)
    config = with_serve(service_config, max_prediction_s=0.05)
    with local_client(create_app(tiny_model_dir, config)) as client:
        response = post(client, dsm, thresholds="5,10")
        metrics = client.get("/metrics").text
        root = client.app.state.service.root
        assert list((root / "results").iterdir()) == []
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"].startswith("slow.tif: ") and "0.05 s limit" in body["error"]
    assert "serve.max_prediction_s" in body["hint"]
    assert 'forestgaps_predictions_total{outcome="overtime"} 1.0' in metrics

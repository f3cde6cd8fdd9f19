"""Fixtures: a seeded tiny U-Net saved with save_model, small EPSG:2154 DSMs, a test client."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.models import create
from forestgaps_engine.models.card import ModelCard, save_model
from forestgaps_engine.models.normalization import Normalizer

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    # Starlette announces a move to httpx2; httpx still works and is what the extra installs.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CRS = "EPSG:2154"


def write_dsm(
    path: Path, size_px: int = 48, crs: str | None = CRS, count: int = 1, seed: int = 0
) -> Path:
    """A float32 canopy DSM: ~20 m crowns on a 200 m plateau, two 1 m gaps."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size_px, 0:size_px]
    heights = 220.0 + 3.0 * np.sin(rows / 4.0) * np.cos(cols / 5.0) + rng.normal(0, 0.3, rows.shape)
    for row, col, radius in ((12, 12, 6), (34, 30, 8)):
        heights[(rows - row) ** 2 + (cols - col) ** 2 <= radius**2] = 201.0
    data = np.repeat(heights[None].astype(np.float32), count, axis=0)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=size_px,
        width=size_px,
        count=count,
        dtype="float32",
        crs=crs,
        transform=Affine(1.0, 0, 650000.0, 0, -1.0, 6860000.0),
        nodata=-9999.0,
    ) as dataset:
        dataset.write(data)
    return path


def vertices(geometry: dict) -> np.ndarray:
    """(n, 2) coordinates of every ring of a GeoJSON Polygon or MultiPolygon."""
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    return np.concatenate([np.asarray(ring) for polygon in polygons for ring in polygon])


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random-init U-Net (8 channels, depth 2) saved with save_model."""
    torch.manual_seed(0)
    model = create("unet", base_channels=8, depth=2)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    card = ModelCard(
        thresholds_m=[2.0, 5.0, 10.0],
        threshold_range_m=(2.0, 20.0),
        resolution_m=1.0,
        tile_size_px=64,
        data_manifest_hash="test",
    )
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def service_config(tmp_path: Path) -> ForestGapsConfig:
    """Torch backend on CPU (no calibration), small tiles, private folder under tmp_path."""
    config = ForestGapsConfig()
    return config.model_copy(
        update={
            "inference": config.inference.model_copy(
                update={"backend": "torch", "device": "cpu", "tile_size_px": 64, "overlap_px": 8}
            ),
            "serve": config.serve.model_copy(
                update={"temp_dir": str(tmp_path / "server"), "max_upload_mb": 1.0}
            ),
        }
    )


# The service answers loopback Host names only (unless told otherwise); TestClient's
# default Host, "testserver", is refused like any other name.
LOCAL_URL = "http://127.0.0.1:8000"


def local_client(app: object, **kwargs: object) -> TestClient:
    """A TestClient that calls the app as http://127.0.0.1:8000."""
    return TestClient(app, base_url=LOCAL_URL, **kwargs)


@pytest.fixture
def client(tiny_model_dir: Path, service_config: ForestGapsConfig) -> Iterator[TestClient]:
    from forestgaps_engine.serve import create_app

    with local_client(create_app(tiny_model_dir, service_config)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX exports and backend calibration stay in the test's folder."""
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def dsm(tmp_path: Path) -> Path:
    return write_dsm(tmp_path / "plot.tif")

"""predict --terrain-prior: a DEM in another CRS and cell size reaches a model trained with it;
models without a prior run exactly as before, and mismatches are user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import DataError, InferenceError, ModelError
from forestgaps_engine.inference.api import predict
from forestgaps_engine.inference.normalize import NumpyNormalizer
from forestgaps_engine.models import create
from forestgaps_engine.models.card import DEFAULT_MODEL_DIR, load_model, save_model
from forestgaps_engine.models.normalization import Normalizer
from tests.inference.helpers import CRS, ORIGIN, card_for, forest, write_dsm

SIZE_PX = 96
DEM_CRS = "EPSG:32631"
DEM_CELL_M = 25.0
ONE_WINDOW = InferenceConfig(tile_size_px=128, overlap_px=0, batch_size=2, backend="torch",
                             model_thread=False)  # fmt: skip


@pytest.fixture(scope="module")
def prior_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded tiny unet_film_relief with the terrain-prior band."""
    torch.manual_seed(0)
    model = create("unet_film_relief", base_channels=4, depth=2, embedding_dim=8,
                   ground_window_px=11, ground_smoothing_px=3, terrain_prior=True)  # fmt: skip
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card_for(), tmp_path_factory.mktemp("prior") / "model")


def _ground_m(x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """A steep hillside: 40 % slope and 20 m ridges (x, y in EPSG:2154 metres)."""
    return 300.0 + 0.4 * (x_m - ORIGIN[0]) + 20.0 * np.sin((y_m - ORIGIN[1]) / 30.0)


def _steep_dsm(path: Path) -> Path:
    cols, rows = np.meshgrid(np.arange(SIZE_PX) + 0.5, np.arange(SIZE_PX) + 0.5)
    ground = _ground_m(ORIGIN[0] + cols, ORIGIN[1] - rows)
    return write_dsm(path, ground + forest(SIZE_PX) - 200.0)


def _dem(path: Path, offset_m: float = 0.0, tilt: float = 0.0, hole: bool = False) -> Path:
    """A 25 m DEM in UTM 31N covering the DSM with a margin (another CRS and cell size)."""
    left, bottom, right, top = transform_bounds(
        CRS, DEM_CRS, ORIGIN[0] - 60, ORIGIN[1] - SIZE_PX - 60, ORIGIN[0] + SIZE_PX + 60,
        ORIGIN[1] + 60,
    )  # fmt: skip
    width, height = int((right - left) // DEM_CELL_M) + 2, int((top - bottom) // DEM_CELL_M) + 2
    transform = Affine(DEM_CELL_M, 0, left, 0, -DEM_CELL_M, top)
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    x_utm, y_utm = transform * (cols, rows)
    from rasterio.warp import transform as transform_xy

    x_m, y_m = transform_xy(DEM_CRS, CRS, x_utm.ravel(), y_utm.ravel())
    values = _ground_m(np.reshape(x_m, cols.shape), np.reshape(y_m, cols.shape)) + offset_m
    values = values + tilt * cols * DEM_CELL_M
    if hole:
        values[:, : width // 2 + 1] = np.nan
    with rasterio.open(
        path, "w", driver="GTiff", height=height, width=width, count=1, dtype="float32",
        crs=DEM_CRS, transform=transform, nodata=-9999.0,
    ) as dataset:  # fmt: skip
        dataset.write(np.where(np.isfinite(values), values, -9999.0).astype(np.float32), 1)
    return path


def _probabilities(result: object) -> np.ndarray:
    with rasterio.open(result.thresholds[0].probability_path) as dataset:  # type: ignore[attr-defined]
        return dataset.read(1)


def _direct(loaded: object, dsm_path: Path, prior_m: np.ndarray | None) -> np.ndarray:
    """The model run by hand on the whole DSM as one window (sigmoid of its logits)."""
    with rasterio.open(dsm_path) as dataset:
        dsm = dataset.read(1).astype(np.float32)[None, None]
    normalizer = NumpyNormalizer.from_dict(loaded.card.normalizer)  # type: ignore[attr-defined]
    valid = np.ones(dsm.shape, dtype=bool)
    inputs = normalizer(dsm, valid) if prior_m is None else normalizer.with_prior(
        dsm, valid, prior_m[None, None]
    )
    with torch.inference_mode():
        logits = loaded.model(torch.from_numpy(inputs), torch.tensor([5.0]))  # type: ignore[attr-defined]
    return torch.sigmoid(logits)[0, 0].numpy()


def _warped_dem(dem_path: Path, dsm_path: Path) -> np.ndarray:
    with rasterio.open(dsm_path) as dsm, rasterio.open(dem_path) as dem:
        out = np.full((dsm.height, dsm.width), np.nan, np.float32)
        reproject(rasterio.band(dem, 1), out, dst_transform=dsm.transform, dst_crs=dsm.crs,
                  resampling=Resampling.bilinear, dst_nodata=np.nan)  # fmt: skip
    return out


def test_prior_in_another_crs_and_cell_size_reaches_the_model(
    prior_model_dir: Path, tmp_path: Path
) -> None:
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    dem = _dem(tmp_path / "dem_utm_25m.tif")
    result = predict(dsm, [5.0], prior_model_dir, tmp_path / "out", ONE_WINDOW, terrain_prior=dem)
    assert result.summary["terrain_prior"] == str(dem)
    assert result.summary["backend"] == "torch"
    predicted = _probabilities(result)
    warped = _warped_dem(dem, dsm)
    assert np.isfinite(warped).all()
    expected = _direct(load_model(prior_model_dir), dsm, warped)
    np.testing.assert_allclose(predicted, expected, atol=2e-3)
    # Another terrain gives another map: the prior is an input, not decoration.
    tilted = _dem(tmp_path / "dem_tilted.tif", tilt=0.3)
    other = predict(dsm, [5.0], prior_model_dir, tmp_path / "tilted", ONE_WINDOW,
                    terrain_prior=tilted)  # fmt: skip
    assert np.abs(_probabilities(other) - predicted).max() > 1e-3


def test_default_model_without_prior_runs_as_before(tmp_path: Path) -> None:
    loaded = load_model("default")
    assert loaded.card.uses_terrain_prior is False
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    result = predict(dsm, [5.0], "default", tmp_path / "out", ONE_WINDOW)
    assert result.summary["terrain_prior"] is None
    np.testing.assert_array_equal(_probabilities(result), _direct(loaded, dsm, None))


def test_prior_for_a_model_without_one_is_a_user_error(tmp_path: Path) -> None:
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    dem = _dem(tmp_path / "dem.tif")
    dsm_only = DEFAULT_MODEL_DIR  # the default model by its folder: no switch to the prior one
    with pytest.raises(ModelError, match="was trained without a terrain prior; omit --terrain-prior"):
        predict(dsm, [5.0], dsm_only, tmp_path / "out", ONE_WINDOW, terrain_prior=dem)
    assert not (tmp_path / "out" / "summary.json").exists()
    completed = subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "predict", str(dsm), "--threshold",
         "5", "--out", str(tmp_path / "cli"), "--terrain-prior", str(dem), "--model",
         str(dsm_only)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert "was trained without a terrain prior; omit --terrain-prior" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_default_with_a_dem_runs_the_bundled_terrain_model(
    prior_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forestgaps_engine.models import card as card_module

    dsm = _steep_dsm(tmp_path / "dsm.tif")
    dem = _dem(tmp_path / "dem.tif")
    monkeypatch.setattr(card_module, "DEFAULT_TERRAIN_MODEL_DIR", prior_model_dir)
    result = predict(dsm, [5.0], "default", tmp_path / "out", ONE_WINDOW, terrain_prior=dem)
    prior_id = load_model(prior_model_dir).card.model_id
    assert result.summary["model"]["model_id"] == prior_id
    # Without a DEM, "default" stays the DSM-only model.
    plain = predict(dsm, [5.0], "default", tmp_path / "plain", ONE_WINDOW)
    assert plain.summary["model"]["model_id"] == load_model("default").card.model_id
    # Not installed: the DSM-only default refuses the DEM, as before.
    monkeypatch.setattr(card_module, "DEFAULT_TERRAIN_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(ModelError, match="trained without a terrain prior"):
        predict(dsm, [5.0], "default", tmp_path / "refused", ONE_WINDOW, terrain_prior=dem)


def test_model_with_prior_needs_one(prior_model_dir: Path, tmp_path: Path) -> None:
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    with pytest.raises(ModelError, match="needs one; pass --terrain-prior DEM.tif"):
        predict(dsm, [5.0], prior_model_dir, tmp_path / "out", ONE_WINDOW)


def test_prior_that_misses_the_dsm_is_a_user_error(prior_model_dir: Path, tmp_path: Path) -> None:
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    far = write_dsm(tmp_path / "far_dem.tif", np.full((8, 8), 300.0), 25.0,
                    origin=(ORIGIN[0] + 50_000, ORIGIN[1]))  # fmt: skip
    with pytest.raises(DataError, match="far_dem.tif: the terrain prior does not overlap"):
        predict(dsm, [5.0], prior_model_dir, tmp_path / "out", ONE_WINDOW, terrain_prior=far)
    holed = _dem(tmp_path / "holed_dem.tif", hole=True)
    with pytest.raises(DataError, match="holed_dem.tif: the terrain prior has no data"):
        predict(dsm, [5.0], prior_model_dir, tmp_path / "out2", ONE_WINDOW, terrain_prior=holed)
    assert not any((tmp_path / "out2").glob("*.tif"))


def test_prior_needs_the_torch_backend(prior_model_dir: Path, tmp_path: Path) -> None:
    dsm = _steep_dsm(tmp_path / "dsm.tif")
    dem = _dem(tmp_path / "dem.tif")
    config = ONE_WINDOW.model_copy(update={"backend": "onnxruntime"})
    with pytest.raises(InferenceError, match="backend onnxruntime cannot take a terrain prior"):
        predict(dsm, [5.0], prior_model_dir, tmp_path / "out", config, terrain_prior=dem)
    auto = ONE_WINDOW.model_copy(update={"backend": "auto"})
    result = predict(dsm, [5.0], prior_model_dir, tmp_path / "auto", auto, terrain_prior=dem)
    assert result.summary["backend"] == "torch"


def test_small_dem_voids_take_the_nearest_height() -> None:
    from forestgaps_engine.inference.terrain_prior import filled_prior

    prior = np.full((1, 1, 20, 20), 300.0, np.float32)
    prior[0, 0, :, 10:] = 310.0
    prior_valid = np.ones(prior.shape, dtype=bool)
    prior_valid[0, 0, 4:8, 4:8] = False  # 4 % of the window: a void, filled
    prior[~prior_valid] = np.nan
    filled = filled_prior(prior, prior_valid, np.ones(prior.shape, dtype=bool), None)
    assert np.isfinite(filled).all() and np.all(filled[0, 0, 4:8, 4:8] == 300.0)
    prior_valid[0, 0, :, :5] = False  # 25 %: the DEM does not cover the DSM
    with pytest.raises(DataError, match="no data over part of the DSM"):
        filled_prior(prior, prior_valid, np.ones(prior.shape, dtype=bool), None)


def test_cli_predict_with_a_prior(prior_model_dir: Path, tmp_path: Path) -> None:
    import json

    dsm = _steep_dsm(tmp_path / "dsm.tif")
    dem = _dem(tmp_path / "dem.tif")
    completed = subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", "predict", str(dsm), "--threshold",
         "5", "--model", str(prior_model_dir), "--out", str(tmp_path / "cli"), "--tile", "128",
         "--overlap", "0", "--terrain-prior", str(dem)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["terrain_prior"] == str(dem)

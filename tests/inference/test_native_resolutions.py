"""Cell sizes a model runs on as they are, and resampling to the nearer end of that range."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import rasterio
from affine import Affine
from pydantic import ValidationError

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.config.model import ModelConfig
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.inference import predict
from forestgaps_engine.inference.model_source import CardInfo
from forestgaps_engine.inference.resample import native_range_m, working_grid
from tests.inference.helpers import card_for, forest, write_dsm

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=6, device="cpu", backend="torch")


def _grid(resolution_m: float, size_m: float = 96.0) -> Grid:
    size_px = int(round(size_m / resolution_m))
    transform = Affine(resolution_m, 0.0, 700_000.0, 0.0, -resolution_m, 6_600_000.0)
    return Grid("EPSG:2154", transform, size_px, size_px)


@pytest.mark.parametrize(
    ("dsm_m", "expected_m"),
    [(0.5, 0.5), (0.75, 0.75), (1.0, 1.0), (1.05, 1.05), (0.25, 0.5), (0.4, 0.5), (2.0, 1.0)],
)
def test_cells_inside_the_native_range_stay_and_others_go_to_its_nearer_end(dsm_m, expected_m):
    grid = _grid(dsm_m)
    work = working_grid(grid, 1.0, "dsm.tif", (0.5, 1.0))
    assert work.resolution_m == pytest.approx((expected_m, expected_m))
    assert work.same_cells(grid) == (dsm_m == expected_m)
    assert work.bounds == pytest.approx(grid.bounds)


def test_without_a_declared_range_every_other_cell_size_goes_to_the_training_one(caplog):
    with caplog.at_level(logging.INFO):
        assert working_grid(_grid(0.5), 1.0, "dsm.tif").resolution_m == (1.0, 1.0)
    assert "resampling the outputs back" in caplog.text
    assert working_grid(_grid(1.05), 1.0, "dsm.tif").same_cells(_grid(1.05))


def test_the_range_comes_from_the_card_with_or_without_torch():
    assert native_range_m(card_for()) == (1.0, 1.0)
    declared = card_for().model_copy(update={"native_resolutions_m": (0.5, 1.0)})
    assert native_range_m(declared) == (0.5, 1.0)
    assert native_range_m(CardInfo(resolution_m=2.0)) == (2.0, 2.0)
    assert native_range_m(CardInfo(native_resolutions_m=(0.5, 1.0))) == (0.5, 1.0)


def test_a_range_must_hold_the_training_resolution():
    with pytest.raises(ValidationError, match="hold the training resolution 1 m"):
        type(card_for())(**{**card_for().model_dump(), "native_resolutions_m": (0.25, 0.5)})
    with pytest.raises(ValidationError, match="min <= max"):
        ModelConfig(native_resolutions_m=(1.0, 0.5))


def test_a_finer_dsm_inside_the_range_is_predicted_on_its_own_grid(tmp_path, tiny_model):
    dsm = write_dsm(tmp_path / "dsm05.tif", forest(160), resolution_m=0.5)
    native = dataclasses.replace(
        tiny_model, card=tiny_model.card.model_copy(update={"native_resolutions_m": (0.5, 1.0)})
    )
    result = predict(dsm, [5], native, tmp_path / "native", SMALL)
    # No working grid of its own: the DSM's grid, nothing resampled.
    assert result.summary["working_grid"] is None
    assert result.summary["grid"]["resolution_m"] == [0.5, 0.5]
    assert result.summary["timings_s"]["resample_back"] == 0.0
    resampled = predict(dsm, [5], tiny_model, tmp_path / "resampled", SMALL)
    assert resampled.summary["working_grid"]["resolution_m"] == [1.0, 1.0]
    # Turned off, the declared range is ignored and the DSM is warped as before.
    warped_config = SMALL.model_copy(update={"native_resolutions": False})
    warped = predict(dsm, [5], native, tmp_path / "warped", warped_config)
    assert warped.summary["working_grid"]["resolution_m"] == [1.0, 1.0]
    with rasterio.open(dsm) as source:
        expected = (source.transform, source.shape)
    for item in (result.thresholds[0], resampled.thresholds[0]):
        with rasterio.open(item.probability_path) as output:
            assert (output.transform, output.shape) == expected


def test_the_shipped_model_declares_the_range_its_evaluation_measured():
    from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR

    if not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        pytest.skip("no bundled default model in resources/models/default")
    card = json.loads((DEFAULT_MODEL_DIR / CARD_FILE).read_text())
    assert card["native_resolutions_m"] == [0.5, 1.0]


def test_the_torch_free_loader_reads_the_range_from_the_card():
    from forestgaps_engine.inference.model_source import (
        DEFAULT_MODEL_DIR,
        ONNX_FILE,
        CardInfo,
        _torch_free_model,
    )

    if not (DEFAULT_MODEL_DIR / ONNX_FILE).is_file():
        pytest.skip("no bundled default model.onnx in resources/models/default")
    model = _torch_free_model("default")
    assert isinstance(model.card, CardInfo)
    assert native_range_m(model.card) == (0.5, 1.0)

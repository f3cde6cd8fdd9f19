"""Cell sizes a model runs on as they are, and resampling to the nearer end of that range."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import rasterio
from affine import Affine
from pydantic import ValidationError

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.config.model import ModelConfig
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.resample import native_range_m, working_grid
from forestgaps_engine.inference import predict
from forestgaps_engine.models.card import ModelCard
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


def test_stretched_cells_go_to_square_ones_at_their_finer_side():
    transform = Affine(0.5, 0.0, 700_000.0, 0.0, -1.0, 6_600_000.0)
    grid = Grid("EPSG:2154", transform, 96, 192)
    work = working_grid(grid, 1.0, "dsm.tif", (0.5, 1.0))
    assert work.resolution_m == pytest.approx((0.5, 0.5))
    assert working_grid(grid, 1.0, "dsm.tif").resolution_m == pytest.approx((1.0, 1.0))


def test_a_dsm_in_degrees_keeps_its_metric_cell_size_when_the_model_runs_on_it():
    # About 0.5 m cells at 46 degrees north.
    transform = Affine(0.0000065, 0.0, 6.0, 0.0, -0.0000045, 46.0)
    grid = Grid("EPSG:4326", transform, 200, 200)
    native = working_grid(grid, 1.0, "dsm.tif", (0.5, 1.0))
    warped = working_grid(grid, 1.0, "dsm.tif")
    assert native.resolution_m[0] == pytest.approx(0.5, rel=0.1)
    assert warped.resolution_m == pytest.approx((1.0, 1.0))
    assert native.crs == warped.crs and native.crs != "EPSG:4326"


def test_without_a_declared_range_every_other_cell_size_goes_to_the_training_one(caplog):
    with caplog.at_level(logging.INFO):
        assert working_grid(_grid(0.5), 1.0, "dsm.tif").resolution_m == (1.0, 1.0)
    assert "resampling the outputs back" in caplog.text
    assert working_grid(_grid(1.05), 1.0, "dsm.tif").same_cells(_grid(1.05))


def test_the_range_comes_from_the_card_with_or_without_torch():
    assert native_range_m(card_for()) == (1.0, 1.0)
    declared = card_for().model_copy(update={"native_resolutions_m": (0.5, 1.0)})
    assert native_range_m(declared) == (0.5, 1.0)
    assert native_range_m(ModelCard(resolution_m=2.0)) == (2.0, 2.0)
    assert native_range_m(ModelCard(native_resolutions_m=(0.5, 1.0))) == (0.5, 1.0)


def test_a_range_must_hold_the_training_resolution():
    with pytest.raises(ValidationError, match=r"min <= training resolution \(1 m\) <= max"):
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


def _pretrained_native_range() -> list[float]:
    """The range the recipe of the shipped model (configs/pretrained.yaml) declares."""
    from forestgaps_engine.config.loader import load_config

    config = load_config(Path(__file__).parents[2] / "configs" / "pretrained.yaml")
    return [float(value) for value in config.model.native_resolutions_m]


def test_the_shipped_model_declares_the_range_of_its_recipe():
    from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR

    if not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        pytest.skip("no bundled default model in resources/models/default")
    card = json.loads((DEFAULT_MODEL_DIR / CARD_FILE).read_text())
    assert card["native_resolutions_m"] == _pretrained_native_range()


@pytest.mark.parametrize("declared", [[0.5], [0.5, 0.8], [1.0, 0.5], [0.0, 1.0]])
def test_the_torch_free_loader_refuses_a_bad_range_naming_the_card(
    tmp_path, tiny_model_dir, declared
):
    import shutil

    from forestgaps_engine.errors import ModelError
    from forestgaps_engine.inference.model_source import _torch_free_model

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.onnx").write_bytes(b"not read before the card")
    card = json.loads((folder / "model_card.json").read_text())
    card["native_resolutions_m"] = declared
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="model_card.json: invalid model card"):
        _torch_free_model(folder)


def test_the_torch_free_loader_reads_the_range_from_the_card():
    from forestgaps_engine.inference.model_source import (
        DEFAULT_MODEL_DIR,
        ONNX_FILE,
        _torch_free_model,
    )

    if not (DEFAULT_MODEL_DIR / ONNX_FILE).is_file():
        pytest.skip("no bundled default model.onnx in resources/models/default")
    model = _torch_free_model("default")
    assert isinstance(model.card, ModelCard)
    assert native_range_m(model.card) == tuple(_pretrained_native_range())

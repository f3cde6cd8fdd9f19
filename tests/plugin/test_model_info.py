"""The dock's model summary: the card's facts, native cell sizes included.

``plugin.dock.model_info`` is imported inside the tests, as the plugin's other modules
are, so collecting this file never imports the plugin package at module level.
"""

from __future__ import annotations

import pytest

from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR


def test_the_default_model_summary_names_the_cells_it_runs_on():
    from plugin.dock.model_info import describe_model

    if not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        pytest.skip("no bundled default model in resources/models/default")
    from forestgaps_engine.models.card import read_card

    card = read_card(DEFAULT_MODEL_DIR / CARD_FILE)
    finest_m, coarsest_m = card.native_resolutions_m
    info = describe_model("default")
    assert info.is_available
    expected = f"resolution {card.resolution_m:g} m (runs on {finest_m:g}–{coarsest_m:g} m cells)"
    assert expected in info.text
    assert info.threshold_range_m == (2.0, 20.0)


def test_a_card_without_a_native_range_shows_its_resolution_alone(tiny_model):
    from plugin.dock.model_info import describe_model

    info = describe_model(str(tiny_model))
    assert "resolution 1 m, engine" in info.text and "runs on" not in info.text


def test_a_missing_model_says_why(tmp_path):
    from plugin.dock.model_info import describe_model

    info = describe_model(str(tmp_path / "nowhere"))
    assert not info.is_available and "No model available" in info.text


def test_an_exported_folder_without_weights_is_a_usable_model(tmp_path):
    """The light install's model: model_card.json and model.onnx, no safetensors."""
    import shutil

    from plugin.detection import model_is_available
    from plugin.dock.model_info import describe_model

    if not (DEFAULT_MODEL_DIR / "model.onnx").is_file():
        pytest.skip("no bundled default model in resources/models/default")
    folder = tmp_path / "exported"
    folder.mkdir()
    for name in (CARD_FILE, "model.onnx"):
        shutil.copy(DEFAULT_MODEL_DIR / name, folder / name)
    assert model_is_available(str(folder)) == (True, "")
    assert describe_model(str(folder)).is_available
    (folder / "model.onnx").unlink()
    available, why = model_is_available(str(folder))
    assert not available and "model.safetensors" in why

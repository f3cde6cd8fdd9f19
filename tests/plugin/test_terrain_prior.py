"""The coarse terrain (DEM) field in the dock and in Processing, in QGIS words."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.inference.helpers import ORIGIN, forest, write_dsm

CLI_FLAG_RE = re.compile(r"(?<![\w`])--[a-z][a-z-]+")
DETECT_GAPS = "forestgaps:detectgaps"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 96 px DSM on a 40 % slope (1 m, EPSG:2154) and a 20 m DEM of the same hillside."""
    folder = tmp_path_factory.mktemp("terrain_site")
    cols = np.arange(96)[None, :] + 0.5
    dsm = write_dsm(folder / "dsm.tif", 100.0 + 0.4 * cols + forest(96))
    dem_cols = np.arange(8)[None, :] * 20.0 + 10.0 - 20.0
    dem_values = np.repeat(300.0 + 0.4 * dem_cols + 1.5, 8, axis=0)
    dem = write_dsm(folder / "dem_20m.tif", dem_values, 20.0,
                    origin=(ORIGIN[0] - 20.0, ORIGIN[1] + 20.0))  # fmt: skip
    return {"dsm": dsm, "dem": dem}


@pytest.fixture(scope="module")
def prior_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create("unet_film_relief", base_channels=4, depth=2, embedding_dim=8,
                   ground_window_px=11, ground_smoothing_px=3, terrain_prior=True)  # fmt: skip
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 10.0))
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("prior") / "model")


def test_flag_reads_as_the_field_label() -> None:
    from plugin.messages import qgis_words

    text = qgis_words("omit --terrain-prior or use a model trained with one")
    assert "Coarse terrain (DEM)" in text
    assert not CLI_FLAG_RE.search(text)


def test_panel_params_check_the_dem_and_the_run_uses_it(
    site: dict[str, Path], prior_model: Path, tmp_path: Path
) -> None:
    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    missing = InferenceParams(dsm_path=str(site["dsm"]), terrain_prior_path="/nowhere/dem.tif")
    assert any(p.startswith("Coarse terrain (DEM) '/nowhere/dem.tif'") for p in missing.problems())
    params = InferenceParams(
        dsm_path=str(site["dsm"]), terrain_prior_path=str(site["dem"]), model=str(prior_model),
        thresholds_m=(5.0,), tile_size_px=128, overlap_px=0, output_dir=str(tmp_path / "out"),
    )  # fmt: skip
    assert params.problems() == []
    result = run_detection(params)
    assert result.method == "model"
    import json

    assert json.loads(result.summary_path.read_text())["terrain_prior"] == str(site["dem"])


def test_dock_field_feeds_the_params(
    require_qgis: None, qgis_iface: Any, qgis_new_project: None, site: dict[str, Path]
) -> None:
    from qgis.core import QgsProject, QgsRasterLayer

    from plugin.dock.dock_widget import ForestGapsDock

    layers = {name: QgsRasterLayer(str(site[name]), name) for name in ("dsm", "dem")}
    for layer in layers.values():
        assert layer.isValid()
        QgsProject.instance().addMapLayer(layer)
    dock = ForestGapsDock(qgis_iface)
    try:
        dock.dsm_combo.setLayer(layers["dsm"])
        assert dock.params().terrain_prior_path is None
        dock.terrain_prior_combo.setLayer(layers["dem"])
        assert dock.params().terrain_prior_path == str(site["dem"])
    finally:
        dock.deleteLater()


def test_processing_takes_the_dem_and_words_errors_for_qgis(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], prior_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    import processing
    from qgis.core import QgsApplication, QgsProcessingException

    algorithm = QgsApplication.processingRegistry().algorithmById(DETECT_GAPS)
    parameter = algorithm.parameterDefinition("TERRAIN_PRIOR")
    assert parameter is not None and parameter.type() == "raster"
    assert parameter.flags() & parameter.Flag.FlagOptional
    base = {"INPUT": str(site["dsm"]), "THRESHOLDS": "5", "TILE": 128, "OVERLAP": 0}
    from forestgaps_engine.models.card import DEFAULT_MODEL_DIR, DEFAULT_TERRAIN_MODEL_DIR

    # A DSM-only model named by its folder refuses the DEM in QGIS words; "default" with a
    # DEM runs the bundled terrain model instead.
    with pytest.raises(QgsProcessingException) as caught:
        processing.run(DETECT_GAPS, {**base, "TERRAIN_PRIOR": str(site["dem"]),
                                     "MODEL": str(DEFAULT_MODEL_DIR),
                                     "OUTPUT_FOLDER": str(tmp_path / "dsm_only")})  # fmt: skip
    message = str(caught.value)
    assert "was trained without a terrain prior" in message
    assert "Coarse terrain" in message
    assert not CLI_FLAG_RE.search(message)
    result = processing.run(DETECT_GAPS, {**base, "TERRAIN_PRIOR": str(site["dem"]),
                                          "MODEL": str(prior_model),
                                          "OUTPUT_FOLDER": str(tmp_path / "prior")})  # fmt: skip
    assert Path(result["SUMMARY"]).is_file()
    bundled = processing.run(DETECT_GAPS, {**base, "TERRAIN_PRIOR": str(site["dem"]),
                                           "OUTPUT_FOLDER": str(tmp_path / "default")})  # fmt: skip
    summary = json.loads(Path(bundled["SUMMARY"]).read_text("utf-8"))
    terrain_card = json.loads((DEFAULT_TERRAIN_MODEL_DIR / "model_card.json").read_text("utf-8"))
    assert summary["model"]["model_id"] == terrain_card["model_id"]

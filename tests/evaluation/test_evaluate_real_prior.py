"""``evaluate-real --prior-model``: the terrain-prior column, fed each site's 30 m ground (#24)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
import torch

from forestgaps_engine.cli.main import main
from forestgaps_engine.models import create
from forestgaps_engine.models.card import save_model
from forestgaps_engine.models.normalization import Normalizer
from tests.evaluation.test_evaluate_real import corpus  # noqa: F401 - the fixture
from tests.inference.helpers import card_for

PRIOR_PARAMS = {"base_channels": 4, "depth": 2, "embedding_dim": 8, "terrain_prior": True,
                "fixed_height_unit": True, "ground_window_m": 12.0, "ground_smoothing_m": 1.5,
                "zero_init_correction": True, "correction_bound_m": 1.0}  # fmt: skip


def _save(tmp_path: Path, params: dict, name: str) -> Path:
    torch.manual_seed(0)
    model = create("unet_film_relief", **params)
    model.calibrate_height_unit(30.0)
    card = card_for().model_copy(
        update={
            "architecture": "unet_film_relief",
            "params": params,
            "uses_terrain_prior": bool(params.get("terrain_prior")),
        }  # fmt: skip
    )
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, tmp_path / name)


def test_prior_column_is_scored_with_a_30m_dem(corpus: Path, tmp_path: Path) -> None:  # noqa: F811
    prior_model = _save(tmp_path, PRIOR_PARAMS, "prior")
    out = tmp_path / "out"
    args = ["evaluate-real", "--config", str(corpus), "--out", str(out), "--prior-model",
            str(prior_model), "--threshold", "5", "--threshold", "10"]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "real_sites.json").read_text("utf-8"))
    for row in report["sites"]:
        for label in ("5", "10"):
            assert 0.0 <= row["iou"][label]["terrain_prior"] <= 1.0
    assert report["pooled"]["terrain_prior"]["5"] is not None
    with rasterio.open(out / "inputs" / "site_a" / "dem_30m.tif") as dem:
        assert dem.res == (30.0, 30.0)
        # Flat-ground CHM site: its ground is 0 m everywhere.
        assert abs(float(dem.read(1, masked=True).mean())) < 1e-3
    table = (out / "real_sites.md").read_text("utf-8")
    assert "averaged onto 30 m cells" in table


def test_a_prior_model_without_a_prior_is_a_user_error(
    corpus: Path,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    plain = _save(tmp_path, {**PRIOR_PARAMS, "terrain_prior": False}, "plain")
    args = ["evaluate-real", "--config", str(corpus), "--out", str(tmp_path / "out"),
            "--prior-model", str(plain)]  # fmt: skip
    assert main(args) == 2
    assert "trained without a terrain prior" in caplog.text

"""End to end: ``forestgaps evaluate`` on synthetic DSM/CHM/DTM GeoTIFFs, with and without a model."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from PIL import Image

from forestgaps_engine.cli.main import main
from forestgaps_engine.errors import ConfigError, DataError, ModelError
from forestgaps_engine.evaluation.api import CHM_CEILING, DSM_ONLY, evaluate
from forestgaps_engine.models import create
from forestgaps_engine.models.card import ModelCard, save_model
from forestgaps_engine.models.normalization import Normalizer
from forestgaps_engine.synth.forest import generate_forest, write_forest

THRESHOLDS = (2.0, 5.0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    forest = generate_forest(128, seed=7, nodata_holes=True)
    return write_forest(forest, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = create("unet_film", base_channels=4, depth=2, embedding_dim=8)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 20.0), tile_size_px=64)
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("model") / "tiny")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _assert_png(path: Path) -> None:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_cli_baselines_alone(site: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "eval"
    args = ["evaluate", "--dsm", str(site["dsm"]), "--chm", str(site["chm"]), "--out", str(out)]
    for threshold in THRESHOLDS:
        args += ["--threshold", f"{threshold:g}"]
    assert main(args) == 0
    metrics = _rows(out / "metrics.csv")
    assert {(row["method"], float(row["threshold_m"])) for row in metrics} == {
        (method, t) for method in (DSM_ONLY, CHM_CEILING) for t in THRESHOLDS
    }
    for row in metrics:
        if row["method"] == CHM_CEILING:
            assert float(row["iou"]) == 1.0 and float(row["object_f1"]) == 1.0
        else:
            assert 0.4 < float(row["iou"]) < 1.0
    by_size = _rows(out / "objects_by_size.csv")
    assert {row["size_class"] for row in by_size} == {"all", "<50", "50-100", "100-500", ">=500"}
    bias = _rows(out / "bias.csv")
    assert {row["factor"] for row in bias} == {"site", "slope", "canopy_height"}
    report = (out / "report.md").read_text("utf-8")
    assert "ceiling" in report and "iou_by_threshold.png" in report
    for name in ("iou_by_threshold.png", "f1_by_threshold.png", "error_dsm_only_baseline_t5.png"):
        _assert_png(out / name)
    with rasterio.open(out / "baselines" / "dsm_only_mask_t5.tif") as mask:
        assert mask.nodata == 255 and set(np.unique(mask.read(1))) <= {0, 1, 255}
    assert not list(out.rglob("*.partial*"))


def test_dtm_gives_the_same_labels_as_the_chm(site: dict[str, Path], tmp_path: Path) -> None:
    with_chm = evaluate({"dsm": site["dsm"], "chm": site["chm"]}, None, [5.0], tmp_path / "a")
    with_dtm = evaluate({"dsm": site["dsm"], "dtm": site["dtm"]}, None, [5.0], tmp_path / "b")
    a, b = with_chm.score(DSM_ONLY, 5.0).pixel, with_dtm.score(DSM_ONLY, 5.0).pixel
    # DSM - DTM equals the CHM up to float32 rounding at cells right on the threshold.
    assert abs(a.iou - b.iou) < 0.01


def test_model_is_shown_next_to_both_baselines(
    site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    result = evaluate(
        (site["dsm"], site["chm"]), tiny_model, THRESHOLDS, tmp_path / "eval", method_name="tiny"
    )
    assert [item.method for item in result.scores if item.threshold_m == 5.0] == [
        "tiny",
        DSM_ONLY,
        CHM_CEILING,
    ]
    assert result.score("tiny", 5.0).pr_curve is not None
    _assert_png(tmp_path / "eval" / "pr_curve.png")
    _assert_png(tmp_path / "eval" / "error_tiny_t2.png")
    assert (tmp_path / "eval" / "model_predictions" / "gap_mask_t5.tif").is_file()


def test_given_masks_and_their_probabilities(site: dict[str, Path], tmp_path: Path) -> None:
    first = evaluate((site["dsm"], site["chm"]), "dsm_only", [5.0], tmp_path / "first")
    mask = first.out_dir / "baselines" / "dsm_only_mask_t5.tif"
    again = evaluate((site["dsm"], site["chm"]), {5.0: mask}, None, tmp_path / "again")
    assert again.score("model", 5.0).pixel == first.score(DSM_ONLY, 5.0).pixel
    with pytest.raises(ConfigError, match="no prediction mask given for threshold"):
        evaluate((site["dsm"], site["chm"]), {5.0: mask}, [2.0, 5.0], tmp_path / "missing")


def test_chm_alone_skips_the_dsm_baseline(site: dict[str, Path], tmp_path: Path) -> None:
    result = evaluate(site["chm"], None, [5.0], tmp_path / "eval")
    assert [item.method for item in result.scores] == [CHM_CEILING]
    assert any("No DSM" in note for note in result.notes)
    with pytest.raises(ConfigError, match="needs the DSM"):
        evaluate(site["chm"], "some/model", [5.0], tmp_path / "eval2")


def test_outputs_never_overwrite_the_rasters_evaluated(
    site: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    first = evaluate((site["dsm"], site["chm"]), "dsm_only", [5.0], out)
    mask = first.out_dir / "baselines" / "dsm_only_mask_t5.tif"
    chm = out / "model_predictions" / "gap_mask_t5.tif"
    chm.parent.mkdir()
    chm.write_bytes(site["chm"].read_bytes())
    before = (mask.read_bytes(), chm.read_bytes())
    with pytest.raises(DataError, match="dsm_only_mask_t5.tif"):
        evaluate((site["dsm"], site["chm"]), {5.0: mask}, [5.0], out)
    with pytest.raises(DataError, match="gap_mask_t5.tif"):
        evaluate({"dsm": site["dsm"], "chm": chm}, None, [5.0], out)
    assert (mask.read_bytes(), chm.read_bytes()) == before


def test_a_model_that_cannot_load_leaves_no_predictions_folder(
    site: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    with pytest.raises(ModelError):
        evaluate((site["dsm"], site["chm"]), tmp_path / "no_model", [5.0], out)
    assert not (out / "model_predictions").exists()

"""``change --input dsm`` without DTMs: the model predicts each date; predict's size plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from forestgaps_engine.cli.main import main  # noqa: E402
from tests.gaps.test_change import two_dates, write_raster  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create("unet", base_channels=4, depth=2)
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 10.0))
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))


def test_change_of_two_dsms_through_the_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    from forestgaps_engine.detection.change_model import predicted_gap_ids
    from forestgaps_engine.gaps.change_inputs import DateInputs, harmonise_dates
    from forestgaps_engine.inference.api import predict
    from forestgaps_engine.progress import Reporter

    before, after = two_dates()
    dsm_before = write_raster(tmp_path / "dsm_before.tif", before + 100.0)
    dsm_after = write_raster(tmp_path / "dsm_after.tif", after + 100.0)
    out = tmp_path / "out"
    code = main(["change", str(dsm_before), str(dsm_after), "--input", "dsm", "--model",
                 str(tiny_model_dir), "--threshold", "5", "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["detector"] == "model"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["change_t5.tif", "change_classes_t5.tif", "gap_events_t5.gpkg",
         "size_frequency_t5.png", "summary.json"]
    )  # fmt: skip
    # The change follows the masks predict writes for each date on its own.
    for date, dsm in (("before", dsm_before), ("after", dsm_after)):
        predict(dsm, [5.0], str(tiny_model_dir), tmp_path / date)
        assert (tmp_path / date / "size_frequency_t5.png").read_bytes()[:4] == b"\x89PNG"
    import rasterio

    masks = {}
    for date in ("before", "after"):
        with rasterio.open(tmp_path / date / "gap_mask_t5.tif") as dataset:
            masks[date] = dataset.read(1) == 1
    harmonised = harmonise_dates(DateInputs(dsm_before, dsm_after, kind="dsm"))
    ids = predicted_gap_ids(harmonised, [5.0], str(tiny_model_dir), None, 0.0, 1e9,
                            tmp_path, Reporter())[5.0]  # fmt: skip
    np.testing.assert_array_equal(ids[0] > 0, masks["before"])
    np.testing.assert_array_equal(ids[1] > 0, masks["after"])
    with rasterio.open(out / "change_t5.tif") as dataset:
        change = dataset.read(1) == 2
    new_cells = ids[1] > 0
    # change used the default area bounds (1..10000 m2): its new cells are a subset.
    assert not np.any(change & ~(new_cells & ~(ids[0] > 0)))
    assert not list(tmp_path.glob(".forestgaps-change-*"))

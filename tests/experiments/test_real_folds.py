"""``forestgaps evaluate-real --folds N --train-config FILE``: held-out scores on real sites.

Each fold's model is trained on the synthetic sites and the real sites of the other folds
only, the sites of one source never split, and each site is scored by the model that left
it out; the pooled line is the sum of the sites' confusion counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.evaluation.real_sites import pooled_from_rows
from forestgaps_engine.experiments.real_folds import deal_by_source
from tests.evaluation.test_evaluate_real import _write_chm

TRAIN_RECIPE = """
synth: {size_px: 128, n_sites: 3}
gaps: {thresholds_m: [2.0, 5.0, 10.0]}
data:
  synthetic_sites: 3
  tile_size_px: 64
  samples_per_shard: 64
  split: {train: 0.6, val: 0.2, test: 0.2}
model:
  name: unet_film_relief
  params: {base_channels: 4, depth: 2, embedding_dim: 8, fixed_height_unit: true,
           ground_window_m: 12.0, ground_smoothing_m: 1.5, zero_init_correction: true,
           correction_bound_m: 1.0}
training: {epochs: 1, batch_size: 4, num_workers: 0, amp: "off",
           monitoring: {tensorboard: false}}
"""


def _site(name: str, source: str | None) -> SiteConfig:
    return SiteConfig(name=name, chm=f"{name}.tif", flat_ground=True, source_dir=source)


def test_sources_stay_together_and_folds_are_even() -> None:
    sites = [_site("bc_1", "bc"), _site("bc_2", "bc"), _site("bc_3", "bc"),
             _site("eglin_1", "eglin"), _site("eglin_2", "eglin"), _site("duc", None),
             _site("cau", None)]  # fmt: skip
    folds = deal_by_source(sites, 3)
    names = [[site.name for site in fold] for fold in folds]
    assert names == [["bc_1", "bc_2", "bc_3"], ["eglin_1", "eglin_2"], ["cau", "duc"]]
    assert deal_by_source(list(reversed(sites)), 3) == folds
    with pytest.raises(ConfigError, match="only 4 source"):
        deal_by_source(sites, 5)


def test_each_site_is_scored_by_the_model_that_never_saw_its_source(tmp_path: Path) -> None:
    shared, plot = tmp_path / "survey", tmp_path / "plot"
    for folder in (shared, plot):
        folder.mkdir()
        (folder / "SOURCE.txt").write_text("repo: test\nlicense: CC0 (test)\n", "utf-8")
    chms = {
        "survey_1": _write_chm(shared / "chm_1.tif", 1),
        "survey_2": _write_chm(shared / "chm_2.tif", 2),
        "plot": _write_chm(plot / "chm.tif", 3),
    }
    sources = {"survey_1": shared, "survey_2": shared, "plot": plot}
    corpus = tmp_path / "real.yaml"
    corpus.write_text(
        "gaps: {thresholds_m: [2.0, 5.0, 10.0, 15.0]}\n"
        "inference: {tile_size_px: 128, overlap_px: 16, backend: torch}\n"
        "data:\n  sites:\n"
        + "".join(
            f"    - {{name: {name}, chm: '{chm}', flat_ground: true, "
            f"source_dir: '{sources[name]}'}}\n"
            for name, chm in chms.items()
        ),
        "utf-8",
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TRAIN_RECIPE, "utf-8")
    out = tmp_path / "folds"
    args = ["evaluate-real", "--config", str(corpus), "--out", str(out), "--folds", "2",
            "--train-config", str(recipe), "--threshold", "5", "--threshold", "10"]  # fmt: skip
    assert main(args) == 0
    report = json.loads((out / "real_sites.json").read_text("utf-8"))
    assert report["folds"] == [["survey_1", "survey_2"], ["plot"]]
    assert len(set(report["model_ids"])) == 2
    for row in report["sites"]:
        manifest = json.loads(
            (out / f"fold{row['fold']}" / "prepared" / "manifest.json").read_text("utf-8")
        )
        trained_on = json.dumps(manifest["sites"])
        assert row["site"] not in trained_on
        assert row["model_id"] == report["model_ids"][row["fold"]]
    other = "plot" if report["sites"][0]["fold"] == 0 else "survey_1"
    assert other in json.dumps(
        json.loads((out / "fold0" / "prepared" / "manifest.json").read_text("utf-8"))["sites"]
    )
    assert report["pooled"] == pooled_from_rows(report["sites"], ["5", "10"])
    assert 0.0 <= report["pooled"]["model"]["5"] <= 1.0
    assert "each site is scored by the model trained without its source" in (
        out / "real_sites.md"
    ).read_text("utf-8")


def test_folds_need_a_recipe_and_refuse_a_model(tmp_path: Path, caplog) -> None:
    assert main(["evaluate-real", "--folds", "3", "--out", str(tmp_path)]) == 2
    assert "--train-config None" in caplog.text
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(TRAIN_RECIPE, "utf-8")
    code = main(["evaluate-real", "--folds", "3", "--train-config", str(recipe), "--model",
                 "default", "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "--model, --prior-model and --site do not apply" in caplog.text

"""The architecture benchmark on tiny data: one result.json per run, the report, resumption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from forestgaps_engine.errors import ConfigError
from forestgaps_engine.evaluation.benchmark import load_benchmark_config, run_benchmark
from forestgaps_engine.evaluation.benchmark_report import write_marked_section
from forestgaps_engine.evaluation.heldout_report import check_aims, heldout_report


def _write_config(tmp_path: Path, **benchmark: object) -> Path:
    document = {
        "benchmark": {
            "architectures": [
                {"name": "fast_scnn", "params": {"base_channels": 8}},
                {"name": "mobile_unet", "params": {"base_channels": 8}, "label": "mobile8"},
            ],
            "eval_seeds": [9000],
            "eval_size_px": 96,
            "speed_size_px": 96,
            "output_dir": str(tmp_path / "bench"),
            "report": str(tmp_path / "docs" / "benchmark.md"),
            **benchmark,
        },
        "synth": {"size_px": 128, "n_sites": 3, "seed": 10},
        "gaps": {"thresholds_m": [5.0]},
        "data": {
            "synthetic_sites": 3,
            "tile_size_px": 64,
            "samples_per_shard": 8,
            "split": {"train": 0.34, "val": 0.33, "test": 0.33},
        },
        "training": {
            "epochs": 1,
            "batch_size": 4,
            "num_workers": 0,
            "max_steps_per_epoch": 2,
            "amp": "off",
            "monitoring": {"tensorboard": False},
        },
        "inference": {
            "tile_size_px": 64,
            "overlap_px": 8,
            "batch_size": 2,
            "device": "cpu",
            "backend": "torch",
        },
    }
    path = tmp_path / "benchmark.yaml"
    path.write_text(yaml.safe_dump(document), "utf-8")
    return path


@pytest.mark.slow
def test_tiny_benchmark_writes_results_and_report_then_resumes(tmp_path: Path) -> None:
    config, settings = load_benchmark_config(_write_config(tmp_path))
    first = run_benchmark(config, settings)

    assert first.skipped == ()
    for name in ("fast_scnn", "mobile8"):
        result = json.loads((tmp_path / "bench" / "runs" / name / "result.json").read_text())
        assert result["training"]["epochs_run"] == 1
        assert result["param_count"] > 0 and result["gflops_per_256_tile"] > 0
        assert result["inference"]["mpix_per_s"] > 0
        assert 0.0 <= result["scores"]["5"]["iou"] <= 1.0
        assert set(result["scores"]["5"]) >= {"iou", "f1", "object_f1", "boundary_f1", "grid_r2"}
    baselines = json.loads((tmp_path / "bench" / "baselines.json").read_text())
    assert baselines["chm_threshold"]["5"]["iou"] == pytest.approx(1.0)
    assert "dsm_only" in baselines
    report = (tmp_path / "docs" / "benchmark.md").read_text()
    assert "`fast_scnn`" in report and "`mobile8`" in report and "dsm_only" in report
    assert (tmp_path / "docs" / "benchmark" / "accuracy.png").is_file()

    second = run_benchmark(config, settings)
    assert set(second.skipped) == {"fast_scnn", "mobile8"}
    assert [run["run"] for run in second.runs] == ["fast_scnn", "mobile8"]

    doc = tmp_path / "docs" / "benchmark.md"
    held_out = heldout_report(
        first.runs[0]["model_dir"],
        config,
        tmp_path / "heldout",
        seeds=(9000,),
        thresholds_m=(5.0, 7.0),
        resolutions_m=(1.0, 2.0),
        extent_m=96.0,
        doc=doc,
        open_woodland_seeds=(9100,),
    )
    assert set(held_out.scores) == {"1", "2", "open_woodland"}
    assert set(held_out.scores["1"]) == {"model", "dsm_only", "chm_threshold"}
    assert set(held_out.scores["open_woodland"]) == {"model", "dsm_only", "chm_threshold"}
    text = doc.read_text()
    assert "## Default model" in text and "## Architecture benchmark" in text
    assert "at 1 m, open woodland only (seeds 9100)" in text
    # Open woodland is lower than the closed forest of the same seed range.
    open_site = tmp_path / "heldout" / "sites" / "seed_9100_1m_open1" / "chm.tif"
    closed_site = tmp_path / "heldout" / "sites" / "seed_9000_1m" / "chm.tif"
    import rasterio

    with rasterio.open(open_site) as opened, rasterio.open(closed_site) as closed:
        assert np.median(opened.read(1)) < np.median(closed.read(1))


def test_eval_seeds_among_training_seeds_are_refused(tmp_path: Path) -> None:
    config, settings = load_benchmark_config(_write_config(tmp_path, eval_seeds=[11]))
    with pytest.raises(ConfigError, match="training seeds"):
        run_benchmark(config, settings)


def test_config_without_benchmark_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text("training: {epochs: 1}\n", "utf-8")
    with pytest.raises(ConfigError, match="benchmark"):
        load_benchmark_config(path)


def test_overrides_reach_both_sections(tmp_path: Path) -> None:
    config, settings = load_benchmark_config(
        _write_config(tmp_path), ["benchmark.n_folds=2", "training.epochs=3"]
    )
    assert settings.n_folds == 2 and config.training.epochs == 3


def test_marked_section_keeps_the_rest_of_the_document(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nhand-written\n", "utf-8")
    write_marked_section(doc, "benchmark", "first")
    write_marked_section(doc, "other", "kept")
    write_marked_section(doc, "benchmark", "second")
    text = doc.read_text()
    assert "hand-written" in text and "kept" in text and "second" in text
    assert "first" not in text


def test_aims_are_checked_against_the_figures() -> None:
    row = {"iou": 0.9}
    scores = {
        "model": {"5": {"iou": 0.90}, "7": {"iou": 0.80}, "10": {"iou": 0.86}},
        "dsm_only": {"5": {"iou": 0.70}, "7": {"iou": 0.70}, "10": {"iou": 0.70}},
        "chm_threshold": {"5": row, "7": row, "10": row},
    }
    aims = {aim: met for aim, met, _figures in check_aims(scores, [5.0, 10.0])}
    assert aims["IoU >= 0.85 at 5 m"] and aims["IoU >= 0.85 at 10 m"]
    assert aims["mean IoU >= DSM-only + 0.1"]
    # 7 m interpolates to 0.884 between 0.90 and 0.86: 0.80 is more than 0.05 below.
    assert aims["unseen 7 m within 0.05 IoU of its trained neighbours"] is False

"""The architecture benchmark on tiny data: one result.json per run, the report, resumption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from forestgaps_engine.errors import ConfigError
from forestgaps_engine.evaluation.marked_section import write_marked_section
from forestgaps_engine.experiments.benchmark import run_benchmark, write_benchmark_report
from forestgaps_engine.experiments.benchmark_config import load_benchmark_config, real_site_folds
from forestgaps_engine.experiments.benchmark_report import convergence, mean_sd
from forestgaps_engine.experiments.heldout_report import check_aims, heldout_report
from tests.evaluation.test_evaluate_real import _write_chm


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


@pytest.mark.slow
def test_each_fold_is_scored_on_real_sites_whose_source_it_never_saw(tmp_path: Path) -> None:
    sites = []
    for index in range(2):
        folder = tmp_path / f"source{index}"
        folder.mkdir()
        (folder / "SOURCE.txt").write_text("repo: test\nlicense: CC0 (test)\n", "utf-8")
        chm = _write_chm(folder / "chm.tif", index + 1)
        sites.append(
            {"name": f"real{index}", "chm": str(chm), "flat_ground": True,
             "source_dir": str(folder)}
        )  # fmt: skip
    real = tmp_path / "real_sites.yaml"
    real.write_text(yaml.safe_dump({"data": {"sites": sites}}), "utf-8")
    path = _write_config(tmp_path, n_folds=2, real_sites=str(real))
    config, settings = load_benchmark_config(path)
    settings = settings.model_copy(update={"architectures": settings.architectures[:1]})

    result = run_benchmark(config, settings)

    for fold, run in enumerate(sorted(result.runs, key=lambda item: item["fold"])):
        held_out, trained_on = f"real{fold}", f"real{1 - fold}"
        assert run["real"]["sites"] == [held_out]
        pooled = run["real"]["pooled"]
        assert set(pooled) == {"model", "dsm_only"}
        assert 0.0 <= pooled["model"]["5"] <= 1.0 and 0.0 <= pooled["dsm_only"]["5"] <= 1.0
        manifest = (tmp_path / "bench" / f"prepared_fold{fold}" / "manifest.json").read_text()
        assert trained_on in json.loads(manifest)["sites"]
        assert held_out not in json.loads(manifest)["sites"]
    report = (tmp_path / "docs" / "benchmark.md").read_text("utf-8")
    assert "real IoU | real gain" in report
    assert "### IoU per threshold on the held-out real sites (mean over folds)" in report
    assert "- **Accuracy first on real forests**: `fast_scnn`" in report


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


def test_real_sites_are_dealt_over_the_folds_and_absent_ones_left_out(tmp_path: Path) -> None:
    chms = []
    for index in range(4):
        chm = tmp_path / f"chm{index}.tif"
        chm.write_bytes(b"stand-in: only existence is read here")
        chms.append(chm)
    sites = [
        {"name": f"site{index}", "chm": str(chm), "flat_ground": True}
        for index, chm in enumerate(chms)
    ]
    sites.append({"name": "absent", "chm": str(tmp_path / "missing.tif"), "flat_ground": True})
    real = tmp_path / "real_sites.yaml"
    real.write_text(yaml.safe_dump({"data": {"sites": sites}}), "utf-8")
    _config, settings = load_benchmark_config(
        _write_config(tmp_path, n_folds=3, real_sites=str(real))
    )

    folds = [[site.name for site in fold] for fold in real_site_folds(settings)]

    assert folds == [["site0", "site3"], ["site1"], ["site2"]]
    chosen = settings.model_copy(update={"real_site_names": ["site1", "site2"], "n_folds": 2})
    assert [[s.name for s in fold] for fold in real_site_folds(chosen)] == [["site1"], ["site2"]]
    too_few = chosen.model_copy(update={"n_folds": 3})
    with pytest.raises(ConfigError, match="only 2 source"):
        real_site_folds(too_few)
    unknown = settings.model_copy(update={"real_site_names": ["nowhere"]})
    with pytest.raises(ConfigError, match="nowhere"):
        real_site_folds(unknown)


def test_convergence_compares_the_last_quarter_with_the_quarter_before() -> None:
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    # Epoch-to-epoch noise of 0.02 around a plateau: single epochs differ by more than
    # the tolerance, the quarters' means do not.
    noisy_flat = [0.1, 0.5, 0.7, 0.80, 0.81, 0.79, 0.78, 0.82]
    assert convergence([noisy_flat, noisy_flat], 0.25, 0.01)["is_flat"] is True
    mixed = convergence([noisy_flat, rising], 0.25, 0.01)
    assert mixed["is_flat"] is False and mixed["tail_epochs"] == 2
    assert mixed["change"] == pytest.approx((0.0 + 0.2) / 2)
    assert convergence([[0.3]], 0.25, 0.01)["is_flat"] is None
    assert mean_sd([0.5, 0.7, None]) == pytest.approx((0.6, 0.1414213))
    assert mean_sd([0.5]) == (0.5, None)


def test_report_shows_mean_and_sd_over_folds_and_the_curves(tmp_path: Path) -> None:
    config, settings = load_benchmark_config(_write_config(tmp_path, n_folds=2))

    def result(fold: int, iou: float, curve: list[float]) -> dict:
        metrics = {m: iou for m in ("iou", "f1", "object_f1", "boundary_f1", "grid_r2")}
        return {
            "run": "unet",
            "architecture": "unet",
            "fold": fold,
            "param_count": 2_000_000,
            "gflops_per_256_tile": 7.0,
            "activation_mb_per_256_tile": 97.0,
            "training": {
                "epochs_run": len(curve),
                "duration_s": 10.0,
                "curve": [{"epoch": i + 1, "val_iou": v} for i, v in enumerate(curve)],
            },
            "inference": {"mpix_per_s": 1.0},
            "scores": {"5": metrics},
        }

    results = [
        result(0, 0.6, [0.2, 0.5, 0.6, 0.6]),
        result(1, 0.8, [0.2, 0.5, 0.7, 0.75]),
    ]
    baselines = tmp_path / "baselines.json"
    baselines.write_text(json.dumps({"dsm_only": {"5": {"iou": 0.9}}}), "utf-8")

    report = write_benchmark_report(config, settings, results, baselines, [])

    text = report.read_text("utf-8")
    assert "| `unet` |" in text and "0.700 ± 0.141" in text
    assert "+0.025 (**not flat**)" in text
    assert (report.parent / report.stem / "curves.png").is_file()


def test_real_scores_are_averaged_fold_by_fold_against_the_baseline(tmp_path: Path) -> None:
    config, settings = load_benchmark_config(_write_config(tmp_path, n_folds=2))

    def result(fold: int, model: dict, baseline: dict) -> dict:
        metrics = {m: 0.5 for m in ("iou", "f1", "object_f1", "boundary_f1", "grid_r2")}
        return {
            "run": "unet", "architecture": "unet", "fold": fold, "param_count": 10**6,
            "gflops_per_256_tile": 7.0, "activation_mb_per_256_tile": 97.0,
            "training": {"epochs_run": 1, "duration_s": 1.0, "curve": []},
            "inference": {"mpix_per_s": 1.0}, "scores": {"5": metrics},
            "real": {"sites": [f"site{fold}"], "pooled": {"model": model, "dsm_only": baseline}},
        }  # fmt: skip

    # Fold 0: the model finds nothing (IoU 0.0, a score, not a missing one).
    results = [
        result(0, {"5": 0.0, "10": 0.0}, {"5": 0.4, "10": 0.2}),
        result(1, {"5": 0.8, "10": 0.6}, {"5": 0.6, "10": 0.6}),
    ]
    baselines = tmp_path / "baselines.json"
    baselines.write_text(json.dumps({"dsm_only": {"5": {"iou": 0.9}}}), "utf-8")

    text = write_benchmark_report(config, settings, results, baselines, []).read_text("utf-8")

    # Model 0.0 and 0.7 (mean 0.350 ± 0.495); gains -0.3 and +0.1; baseline 0.3 and 0.6.
    assert "| 0.350 ± 0.495 | -0.100 ± 0.283 |" in text
    assert "| `dsm_only` baseline |" in text and "| 0.450 ± 0.212 | - | - |" in text
    assert "| `unet` | 0.400 | 0.300 |" in text  # per threshold, mean over folds
    assert "- **Accuracy first on real forests**: `unet` (real IoU 0.350 ± 0.495" in text


def test_a_result_without_its_curve_reads_it_from_the_run_checkpoint(tmp_path: Path) -> None:
    from forestgaps_engine.training.state import save_checkpoint

    config, settings = load_benchmark_config(_write_config(tmp_path))
    history = [{"epoch": i, "loss": 1.0, "val_iou": v} for i, v in enumerate([0.2, 0.5, 0.6, 0.7])]
    checkpoint = Path(settings.output_dir) / "runs" / "unet" / "training" / "checkpoints"
    save_checkpoint(checkpoint / "last.pt", {"history": history})
    metrics = {m: 0.6 for m in ("iou", "f1", "object_f1", "boundary_f1", "grid_r2")}
    result = {
        "run": "unet", "architecture": "unet", "fold": 0, "param_count": 10**6,
        "gflops_per_256_tile": 7.0, "activation_mb_per_256_tile": 97.0,
        "training": {"epochs_run": 4, "duration_s": 1.0},  # no curve: the checkpoint has it
        "inference": {"mpix_per_s": 1.0}, "scores": {"5": metrics},
    }  # fmt: skip
    baselines = tmp_path / "baselines.json"
    baselines.write_text(json.dumps({"dsm_only": {"5": {"iou": 0.9}}}), "utf-8")

    report = write_benchmark_report(config, settings, [result], baselines, [])

    assert "+0.100 (**not flat**)" in report.read_text("utf-8")
    assert (report.parent / report.stem / "curves.png").is_file()

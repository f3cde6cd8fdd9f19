"""The whole workflow on configs/quick.yaml through the public CLI, on CPU, into tmp_path.

synth -> prepare -> train -> evaluate (a site, then the test tiles) -> export -> predict:
the commands docs/training.md
gives, with output folders moved into tmp_path by --set / --out.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.config.loader import CONFIG_DIR
from forestgaps_engine.geo.raster_io import read_band

QUICK = str(CONFIG_DIR / "quick.yaml")
THRESHOLDS_M = (2, 5, 10)


def _has_export_cli() -> bool:
    return importlib.util.find_spec("forestgaps_engine.cli.export") is not None


@pytest.mark.slow
def test_quick_workflow_end_to_end(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    prepared, run = tmp_path / "prepared", tmp_path / "run"
    common = ["--config", QUICK, "--set", f"data.output_dir={prepared}"]

    # synth: a held-out forest (seed outside the prepared sites') to evaluate and predict on
    site = tmp_path / "site"
    assert main(["synth", "--out", str(site), "--seed", "999", "--config", QUICK]) == 0
    dsm = read_band(site / "dsm.tif")
    assert dsm.values.shape == (256, 256) and dsm.valid.mean() > 0.9

    # prepare: shards of every split, manifest, normalization
    assert main(["prepare", *common]) == 0
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert manifest["thresholds_m"] == [2.0, 5.0, 10.0]
    for split in ("train", "val", "test"):
        shards = manifest["splits"][split]["shards"]
        assert shards and all((prepared / s["file"]).is_file() for s in shards)
        assert all(s["n_samples"] > 0 for s in shards)
    assert (prepared / "normalization.json").is_file()

    # train: checkpoints, TensorBoard events, model folder with its card
    capsys.readouterr()
    assert main(["train", *common, "--set", f"training.output_dir={run}"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 2
    model_dir = run / "model"
    card = json.loads((model_dir / "model_card.json").read_text())
    assert card["architecture"] == "unet_film"
    assert card["thresholds_m"] == [2.0, 5.0, 10.0]
    assert card["data_manifest_hash"] == manifest["content_sha256"]
    assert (model_dir / "model.safetensors").is_file()
    assert (run / "checkpoints" / "last.pt").is_file()
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))

    # evaluate: the model next to both baselines in report.md
    evaluation = tmp_path / "evaluation"
    args = ["evaluate", "--dsm", str(site / "dsm.tif"), "--chm", str(site / "chm.tif")]
    assert (
        main([*args, "--model", str(model_dir), "--out", str(evaluation), "--config", QUICK]) == 0
    )
    report = (evaluation / "report.md").read_text()
    for threshold_m in THRESHOLDS_M:
        for method in ("model", "dsm_only_baseline", "chm_threshold_baseline"):
            assert f"| {threshold_m} m | {method} |" in report

    # evaluate --data: the model next to the DSM-only baseline on the test split's tiles
    on_tiles = tmp_path / "evaluation_tiles"
    args = ["evaluate", "--data", str(prepared), "--model", str(model_dir), "--out", str(on_tiles)]
    assert main([*args, "--config", QUICK]) == 0
    report = (on_tiles / "report.md").read_text()
    for threshold_m in THRESHOLDS_M:
        for method in ("model", "dsm_only_baseline"):
            assert f"| {threshold_m} m | {method} |" in report

    # export (ONNX, with its parity check)
    if _has_export_cli():
        onnx_path = tmp_path / "export" / "model.onnx"
        assert main(["export", str(model_dir), "--format", "onnx", "--out", str(onnx_path)]) == 0
        assert onnx_path.stat().st_size > 10_000
    else:
        pytest.skip("the export CLI (forestgaps_engine/cli/export.py) has not landed")

    # predict: probability and mask rasters on the DSM's grid
    predictions = tmp_path / "predictions"
    assert (
        main(
            [
                "predict",
                str(site / "dsm.tif"),
                "--model",
                str(model_dir),
                "--out",
                str(predictions),
                "--config",
                QUICK,
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    for threshold_m in THRESHOLDS_M:
        probability = read_band(predictions / f"gap_probability_t{threshold_m}.tif")
        mask = read_band(predictions / f"gap_mask_t{threshold_m}.tif")
        for band in (probability, mask):
            assert band.grid == dsm.grid
        values = probability.values[probability.valid]
        assert values.size > 0.9 * dsm.valid.sum()
        assert np.all((values >= 0) & (values <= 1))
        assert set(np.unique(mask.values[mask.valid])) <= {0.0, 1.0}

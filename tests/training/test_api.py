import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from forestgaps_engine.cli.main import main
from forestgaps_engine.config import load_config
from forestgaps_engine.errors import ConfigError, DataError
from forestgaps_engine.models.card import load_model
from forestgaps_engine.training.api import train
from tests.training.prepared import write_prepared


def _config(tmp_path: Path, *extra: str):
    return load_config(
        None,
        [
            "gaps.thresholds_m=[2, 5]",
            "model.name=unet_film",
            "model.params={base_channels: 8, depth: 2}",
            "training.epochs=2",
            "training.batch_size=4",
            "training.amp=off",
            "training.device=cpu",
            "training.num_workers=0",
            f"training.output_dir={tmp_path / 'run'}",
            *extra,
        ],
    )


def test_train_writes_a_loadable_model_with_its_card(tmp_path):
    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    progress = []
    config = _config(tmp_path, "model.native_resolutions_m=[0.5, 1.0]")
    result = train(config, prepared, progress=lambda f, m: progress.append(f))
    assert result.epochs_run == 2
    assert (result.checkpoint_dir / "last.pt").is_file()
    card = json.loads((result.model_dir / "model_card.json").read_text())
    assert card["architecture"] == "unet_film"
    assert card["params"]["base_channels"] == 8
    assert card["thresholds_m"] == [2.0, 5.0] and card["threshold_range_m"] == [2.0, 5.0]
    assert card["model_version"] == "1.0.0"
    assert card["native_resolutions_m"] == [0.5, 1.0]
    assert card["normalizer"]["strategy"] == "robust_percentile"
    assert card["data_manifest_hash"]
    assert "val_iou" in card["metrics"] and "val_iou_t5" in card["metrics"]
    assert (result.model_dir / "model.safetensors").is_file()
    assert progress[-1] == pytest.approx(1.0)
    loaded = load_model(result.model_dir)
    assert loaded.card.architecture == "unet_film"
    assert (tmp_path / "run" / "tensorboard").is_dir()


def test_cli_resume_continues_to_more_epochs(tmp_path, capsys):
    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    common = [
        "--prepared",
        str(prepared),
        "--set",
        "gaps.thresholds_m=[2, 5]",
        "--set",
        "model.name=unet_film",
        "--set",
        "model.params={base_channels: 8, depth: 2}",
        "--set",
        "training.batch_size=4",
        "--set",
        "training.amp=off",
        "--set",
        "training.device=cpu",
        "--set",
        "training.num_workers=0",
        "--set",
        "training.monitoring.tensorboard=false",
        "--set",
        f"training.output_dir={tmp_path / 'run'}",
    ]
    assert main(["train", *common, "--set", "training.epochs=1"]) == 0
    assert main(["train", *common, "--set", "training.epochs=2", "--resume"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().split("\n}\n")[-1])
    assert summary["epochs_run"] == 2


def test_missing_prepared_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="manifest.json"):
        train(_config(tmp_path), tmp_path / "nowhere")


def test_a_native_range_without_the_training_resolution_is_refused_before_training(tmp_path):
    prepared = write_prepared(tmp_path / "prepared", n_train=4, n_val=0)
    with pytest.raises(ConfigError, match="native_resolutions_m") as raised:
        train(_config(tmp_path, "model.native_resolutions_m=[2, 4]"), prepared)
    assert "1 m" in str(raised.value) or "1 m" in raised.value.hint
    assert not (tmp_path / "run").exists()


def test_unprepared_thresholds_are_refused(tmp_path):
    prepared = write_prepared(tmp_path / "prepared", n_train=4, n_val=0)
    with pytest.raises(DataError, match="were not prepared"):
        train(_config(tmp_path, "gaps.thresholds_m=[10]"), prepared)


def test_augment_preview_writes_a_png_grid(tmp_path):
    from PIL import Image

    dsm_path = tmp_path / "dsm.tif"
    heights = np.random.default_rng(0).uniform(300, 320, (48, 48)).astype(np.float32)
    heights[:5, :5] = -9999
    profile = {
        "driver": "GTiff",
        "height": 48,
        "width": 48,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:2154",
        "transform": from_origin(700000, 6600000, 1, 1),
        "nodata": -9999,
    }
    with rasterio.open(dsm_path, "w", **profile) as dataset:
        dataset.write(heights, 1)
    out = tmp_path / "grid.png"
    assert (
        main(["augment-preview", str(dsm_path), "--out", str(out), "--n", "3", "--tile-size", "32"])
        == 0
    )
    image = Image.open(out)
    assert image.size == (4 * 32 + 3 * 4, 32)


def test_end_to_end_on_quick_yaml_shards(tmp_path):
    """prepare() on configs/quick.yaml (shrunk), then train() on its real shards."""
    from forestgaps_engine.config.loader import CONFIG_DIR
    from forestgaps_engine.data.prepare import prepare

    config = load_config(
        CONFIG_DIR / "quick.yaml",
        [
            f"data.output_dir={tmp_path / 'prepared'}",
            f"training.output_dir={tmp_path / 'run'}",
            "synth.size_px=128",
            "training.epochs=1",
            "training.amp=off",
            "training.device=cpu",
            "training.monitoring.tensorboard=false",
        ],
    )
    prepare(config)
    result = train(config)
    card = json.loads((result.model_dir / "model_card.json").read_text())
    assert card["architecture"] == "unet_film"
    assert card["thresholds_m"] == [2.0, 5.0, 10.0]
    assert card["resolution_m"] == config.synth.resolution_m
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert card["data_manifest_hash"] == manifest["content_sha256"]
    assert result.history[-1]["loss"] > 0

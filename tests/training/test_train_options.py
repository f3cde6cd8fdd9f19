"""forestgaps train options: --profile N writes a trace; num_workers=auto is calibrated."""

import logging
from pathlib import Path

from forestgaps_engine.cli.main import main
from forestgaps_engine.environment import LocalEnvironment
from forestgaps_engine.training import loader_calibration
from tests.training.prepared import write_prepared


def _args(tmp_path: Path, prepared: Path, *extra: str) -> list[str]:
    settings = [
        "gaps.thresholds_m=[2, 5]",
        "model.name=unet_film",
        "model.params={base_channels: 4, depth: 2}",
        "training.epochs=1",
        "training.batch_size=2",
        "training.amp=off",
        "training.device=cpu",
        "training.monitoring.log_every_steps=1",
        f"training.output_dir={tmp_path / 'run'}",
        *extra,
    ]
    return ["train", "--prepared", str(prepared)] + [
        item for setting in settings for item in ("--set", setting)
    ]


def test_profile_writes_a_trace_into_the_tensorboard_folder(tmp_path: Path):
    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    args = _args(tmp_path, prepared, "training.num_workers=0")
    assert main([*args, "--profile", "2"]) == 0
    traces = list((tmp_path / "run" / "tensorboard").glob("*.pt.trace.json*"))
    assert len(traces) == 1
    assert traces[0].stat().st_size > 1000
    assert (tmp_path / "run" / "model" / "model_card.json").is_file()


def test_auto_workers_are_calibrated_cached_and_logged(tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(loader_calibration, "DEFAULT_TRIAL_S", 0.2)
    monkeypatch.setattr("os.cpu_count", lambda: 4)  # cap = half the cores on a CPU device
    # pytest-qgis loads QGIS, whose environment allows no worker: train as a local process.
    monkeypatch.setattr("forestgaps_engine.environment.detect_environment", LocalEnvironment)
    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    args = _args(
        tmp_path,
        prepared,
        "training.num_workers=auto",
        "training.cache_in_memory=true",
        "training.monitoring.tensorboard=false",
    )
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("data loader calibrated") for m in messages)
    assert any(m.startswith("tile cache: in memory") for m in messages)
    assert any("transfer benchmark skipped" in m for m in messages)
    assert any("fastest measured" in m for m in messages)
    assert (tmp_path / "cache" / loader_calibration.CACHE_FILE).is_file()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert main([*args, "--set", "training.epochs=2", "--resume"]) == 0
    assert any("(cached calibration)" in r.getMessage() for r in caplog.records)


def test_qgis_environment_keeps_loading_in_process(tmp_path: Path, monkeypatch, caplog):
    from forestgaps_engine.environment import QgisEnvironment

    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("forestgaps_engine.environment.detect_environment", QgisEnvironment)
    prepared = write_prepared(tmp_path / "prepared", n_train=4, n_val=0)
    args = _args(
        tmp_path, prepared, "training.num_workers=auto", "training.monitoring.tensorboard=false"
    )
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert any(
        "0 workers, the qgis environment allows at most 0" in r.getMessage() for r in caplog.records
    )
    assert not (tmp_path / "cache").exists()

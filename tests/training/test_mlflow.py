import importlib.util
import sys
from pathlib import Path

import pytest

from forestgaps_engine.cli.main import main
from forestgaps_engine.config import load_config
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.training.api import train
from forestgaps_engine.training.callbacks.factory import default_callbacks
from forestgaps_engine.training.callbacks.mlflow_logger import MlflowLogger, flatten_params
from tests.training.prepared import write_prepared

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


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
            "training.monitoring.tensorboard=false",
            f"training.output_dir={tmp_path / 'run'}",
            "training.monitoring.mlflow=true",
            *extra,
        ],
    )


def test_enabled_without_mlflow_installed_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    with pytest.raises(ConfigError) as caught:
        default_callbacks(_config(tmp_path), tmp_path / "run")
    assert "training.monitoring.mlflow" in str(caught.value)
    assert "pip install .[mlflow]" in caught.value.hint


def test_cli_reports_the_missing_extra_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    prepared = write_prepared(tmp_path / "prepared", n_train=4, n_val=0)
    code = main(
        [
            "train",
            "--prepared",
            str(prepared),
            "--set",
            "training.monitoring.mlflow=true",
            "--set",
            f"training.output_dir={tmp_path / 'run'}",
        ]
    )
    assert code == 2
    assert "pip install .[mlflow]" in capsys.readouterr().err


def test_disabled_adds_no_mlflow_callback(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    config = _config(tmp_path, "training.monitoring.mlflow=false")
    callbacks, _ = default_callbacks(config, tmp_path / "run")
    assert not any(isinstance(c, MlflowLogger) for c in callbacks)


def test_flatten_params_dots_nested_keys():
    flat = flatten_params({"training": {"optimizer": {"lr": 0.001}, "amp": "off"}, "x": [1, 2]})
    assert flat == {"training.optimizer.lr": "0.001", "training.amp": "off", "x": "[1, 2]"}


@pytest.mark.skipif(not HAS_MLFLOW, reason="mlflow is an optional extra (pip install .[mlflow])")
def test_train_logs_params_metrics_and_model_to_a_file_store(tmp_path):
    import mlflow

    prepared = write_prepared(tmp_path / "prepared", n_train=8, n_val=4)
    result = train(_config(tmp_path), prepared)
    store = tmp_path / "run" / "mlruns"
    assert store.is_dir()
    client = mlflow.tracking.MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name("forestgaps")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.name"] == "unet_film"
    assert run.data.params["training.epochs"] == "2"
    history = client.get_metric_history(run.info.run_id, "val_iou")
    assert [m.step for m in history] == [0, 1]
    assert history[-1].value == pytest.approx(result.history[-1]["val_iou"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/model.safetensors", "model/model_card.json"} <= artifacts

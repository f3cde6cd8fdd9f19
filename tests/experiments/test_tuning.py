"""Optuna tuning on tiny data: trials run, the SQLite study resumes, best.yaml validates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forestgaps_engine.config import ForestGapsConfig, load_config

optuna = pytest.importorskip("optuna")

from forestgaps_engine.experiments.tuning import (  # noqa: E402
    SearchSpace,
    _EpochReporter,
    suggest_config,
    tune,
)


def _config(tmp_path: Path, epochs: int = 1) -> ForestGapsConfig:
    return ForestGapsConfig.model_validate(
        {
            "synth": {"size_px": 128, "n_sites": 3, "seed": 20},
            "gaps": {"thresholds_m": [5.0]},
            "data": {
                "synthetic_sites": 3,
                "tile_size_px": 64,
                "samples_per_shard": 8,
                "split": {"train": 0.34, "val": 0.33, "test": 0.33},
                "output_dir": str(tmp_path / "prepared"),
            },
            "model": {"name": "fast_scnn", "params": {}},
            "training": {
                "epochs": epochs,
                "batch_size": 4,
                "num_workers": 0,
                "max_steps_per_epoch": 1,
                "amp": "off",
                "monitoring": {"tensorboard": False},
                "output_dir": str(tmp_path / "training"),
            },
        }
    )


SMALL = SearchSpace(widths=(8,))


@pytest.mark.slow
def test_trials_resume_in_the_same_study_and_best_yaml_validates(tmp_path: Path) -> None:
    config = _config(tmp_path)
    db = tmp_path / "tune" / "study.db"
    first = tune(config, 2, db, study_name="tiny", space=SMALL)
    assert first.n_trials == 2 and first.n_complete >= 1
    assert first.best_config is not None and first.best_config.is_file()

    second = tune(config, 1, db, study_name="tiny", space=SMALL)
    assert second.n_trials == 3
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{db}")
    assert len(study.trials) == 3

    best = load_config(second.best_config)
    assert best.model.name == "fast_scnn"
    assert best.model.params["base_channels"] == 8
    assert best.training.optimizer.lr == pytest.approx(second.best_params["lr"])
    assert best.training.output_dir == config.training.output_dir
    facts = json.loads((db.parent / "best.json").read_text())
    assert facts["n_trials"] == 3 and facts["value"] == pytest.approx(second.best_value)


@pytest.mark.slow
def test_a_trial_below_the_pruner_bar_stops_after_its_first_epoch(tmp_path: Path) -> None:
    config = _config(tmp_path, epochs=3)
    db = tmp_path / "tune" / "study.db"
    # No IoU reaches 2: the first reported epoch already asks to prune.
    result = tune(config, 1, db, space=SMALL, pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    assert result.n_pruned == 1 and result.n_complete == 0 and result.best_config is None
    trial = optuna.load_study(study_name="fast_scnn", storage=f"sqlite:///{db}").trials[0]
    assert list(trial.intermediate_values) == [0]
    assert not (db.parent / "trials" / "trial_0000" / "model").exists()


def test_suggested_config_covers_the_search_space(tmp_path: Path) -> None:
    config = _config(tmp_path).model_copy(
        update={"model": _config(tmp_path).model.model_copy(update={"name": "unet_film_cbam"})}
    )
    trial = optuna.trial.FixedTrial(
        {
            "base_channels": 16,
            "dropout": 0.1,
            "drop_path": 0.2,
            "bce_weight": 0.0,
            "dice_weight": 0.0,
            "focal_weight": 0.0,
            "lr": 3e-3,
        }
    )
    suggested = suggest_config(trial, config, SearchSpace())
    assert suggested.model.params == {"base_channels": 16, "dropout": 0.1, "drop_path": 0.2}
    assert suggested.training.optimizer.lr == pytest.approx(3e-3)
    # All-zero loss weights would be invalid: Dice takes over.
    assert suggested.training.loss.dice_weight == pytest.approx(0.5)


class _Trial:
    def __init__(self, prune_after: int) -> None:
        self.values: dict[int, float] = {}
        self.prune_after = prune_after

    def report(self, value: float, step: int) -> None:
        self.values[step] = value

    def should_prune(self) -> bool:
        return len(self.values) >= self.prune_after


def test_epoch_reporter_reports_each_epoch_once_and_requests_the_stop(tmp_path: Path) -> None:
    trial = _Trial(prune_after=2)
    watcher = _EpochReporter(trial, tmp_path / "missing.pt", "val_iou")
    watcher.progress(0.1, "epoch 1/3 loss 0.5")  # epoch 1 running: nothing finished yet
    assert trial.values == {} and not watcher.cancel()
    watcher.report_history([{"val_iou": 0.2}])
    assert trial.values == {0: 0.2} and not watcher.cancel()
    watcher.report_history([{"val_iou": 0.2}, {"val_iou": 0.3}])
    assert trial.values == {0: 0.2, 1: 0.3} and watcher.cancel()

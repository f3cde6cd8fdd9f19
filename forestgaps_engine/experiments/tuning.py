"""Hyper-parameter search with Optuna: TPE sampling, median pruning, a resumable SQLite study.

Each trial trains ``config.model`` on one prepared dataset with sampled learning rate, loss
weights (BCE, Dice, focal), dropout, drop path (where the architecture has it) and width
(``base_channels``), and scores the best validation IoU (``training.monitor_metric``).
The validation score of every finished epoch is reported to Optuna while the trial runs,
so the median pruner stops trials that trail the others: ``train`` reports each batch as
``epoch E/N ...``; when epoch E starts, epoch E-1's metrics are read from the run's
``checkpoints/last.pt`` (written at every epoch end) and a prune request is delivered
through ``train``'s cancel callback. The study lives in SQLite: the same study name and
database continue it. The best trial becomes ``best.yaml``, a complete config that
``forestgaps train --config best.yaml`` accepts.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.errors import CancelledError, TrainingError, require_package
from forestgaps_engine.files import ensure_writable_dir, write_json_atomic, write_text_atomic
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.training.api import train

logger = logging.getLogger(__name__)

EPOCH_MESSAGE = re.compile(r"^epoch (\d+)/(\d+)")
BEST_HEADER = "# Best trial of `forestgaps tune`; train with: forestgaps train --config best.yaml\n"


@dataclass(frozen=True)
class SearchSpace:
    """Ranges sampled per trial (log scale for the learning rate)."""

    lr: tuple[float, float] = (1e-4, 1e-2)
    bce_weight: tuple[float, float] = (0.0, 1.0)
    dice_weight: tuple[float, float] = (0.0, 1.0)
    focal_weight: tuple[float, float] = (0.0, 0.5)
    dropout: tuple[float, float] = (0.0, 0.3)
    drop_path: tuple[float, float] = (0.0, 0.3)
    widths: tuple[int, ...] = (8, 16, 24)


@dataclass(frozen=True)
class TuningResult:
    """The study after this call."""

    study_name: str
    storage: str
    n_trials: int
    n_complete: int
    n_pruned: int
    best_value: float | None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_config: Path | None = None


def suggest_config(trial: Any, config: ForestGapsConfig, space: SearchSpace) -> ForestGapsConfig:
    """``config`` with this trial's sampled values (model params and training section)."""
    from forestgaps_engine.models import validate_params

    fields = type(validate_params(config.model.name, {})).model_fields
    params = dict(config.model.params)
    if "base_channels" in fields:
        params["base_channels"] = trial.suggest_categorical("base_channels", list(space.widths))
    for name in ("dropout", "drop_path"):
        if name in fields:
            params[name] = trial.suggest_float(name, *getattr(space, name))
    training = config.training
    weights = ("bce_weight", "dice_weight", "focal_weight")
    loss = training.loss.model_copy(
        update={name: trial.suggest_float(name, *getattr(space, name)) for name in weights}
    )
    if loss.bce_weight + loss.dice_weight + loss.focal_weight + loss.tversky_weight < 1e-3:
        loss = loss.model_copy(update={"dice_weight": 0.5})
    optimizer = training.optimizer.model_copy(
        update={"lr": trial.suggest_float("lr", *space.lr, log=True)}
    )
    # model_validate: the copies above are unchecked; a full validation catches bad mixes.
    document = config.model_dump(mode="json")
    document["model"]["params"] = params
    document["training"]["loss"] = loss.model_dump(mode="json")
    document["training"]["optimizer"] = optimizer.model_dump(mode="json")
    return ForestGapsConfig.model_validate(document)


class _EpochReporter:
    """Feeds each finished epoch's validation score to the trial and asks to stop if pruned."""

    def __init__(self, trial: Any, checkpoint: Path, metric: str) -> None:
        self.trial, self.checkpoint, self.metric = trial, checkpoint, metric
        self.reported = 0
        self.should_prune = False

    def report_history(self, history: Sequence[dict[str, float]]) -> None:
        for epoch in range(self.reported, len(history)):
            value = history[epoch].get(self.metric)
            if value is not None and math.isfinite(value):
                self.trial.report(float(value), epoch)
        self.reported = max(self.reported, len(history))
        self.should_prune = self.should_prune or self.trial.should_prune()

    def progress(self, _fraction: float, message: str) -> None:
        match = EPOCH_MESSAGE.match(message)
        if match is None or int(match.group(1)) - 1 <= self.reported:
            return
        from forestgaps_engine.training.state import load_checkpoint

        try:
            history = load_checkpoint(self.checkpoint).get("history", [])
        except TrainingError:
            return
        self.report_history(history)

    def cancel(self) -> bool:
        return self.should_prune


def _best_value(history: Sequence[dict[str, float]], metric: str, mode: str) -> float:
    values = [h[metric] for h in history if math.isfinite(h.get(metric, math.nan))]
    if not values:
        raise TrainingError(
            f"no finite {metric} in the trial's history",
            hint="Give data.split.val a share of the sites so validation runs.",
        )
    return max(values) if mode == "max" else min(values)


def tune(
    config: ForestGapsConfig,
    n_trials: int,
    study_db: str | Path,
    study_name: str | None = None,
    out_dir: str | Path | None = None,
    timeout_s: float | None = None,
    space: SearchSpace | None = None,
    pruner: Any = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> TuningResult:
    """Run ``n_trials`` more trials of a (new or continued) study and write ``best.yaml``.

    Args:
        config: base config; its data are prepared once into ``data.output_dir`` (reused
            when a manifest is there); ``training.epochs`` is each trial's budget.
        n_trials: trials to add in this call.
        study_db: SQLite file of the study (created).
        study_name: name inside the database (default: ``config.model.name``).
        out_dir: trial folders, ``best.yaml`` and ``best.json`` (default: beside the database).
        timeout_s: stop starting trials after this many seconds.
        space: the search ranges.
        pruner: an Optuna pruner (default: median of earlier trials, after two complete).
        progress: ``progress(fraction, message)`` per trial.
        cancel: returns True to stop (the current trial fails, the study stays).

    Returns:
        Counts of the study's trials and the best value, parameters and config file.

    Raises:
        ConfigError: optuna is missing; no trial has completed yet is not an error.
        CancelledError: ``cancel()`` returned True.
    """
    optuna = require_package("optuna", "tuning", "pip install 'forestgaps[tune]' (or optuna).")
    space = space or SearchSpace()
    reporter = Reporter(progress, cancel)
    database = Path(study_db)
    ensure_writable_dir(database.parent)
    out = ensure_writable_dir(out_dir or database.parent)
    prepared = Path(config.data.output_dir)
    if not (prepared / "manifest.json").is_file():
        reporter.report(0.0, "preparing the data once for every trial")
        prepare(config)
    storage = f"sqlite:///{database.resolve()}"
    name = study_name or config.model.name
    training = config.training
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        load_if_exists=True,
        direction="maximize" if training.monitor_mode == "max" else "minimize",
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
    )
    # Seeded by the trial count so a continued study does not replay the same draws.
    study.sampler = optuna.samplers.TPESampler(seed=training.seed + len(study.trials))

    def objective(trial: Any) -> float:
        trial_dir = out / "trials" / f"trial_{trial.number:04d}"
        trial_config = suggest_config(trial, config, space).updated(
            training={"output_dir": str(trial_dir)}
        )
        watcher = _EpochReporter(
            trial, trial_dir / "checkpoints" / "last.pt", training.monitor_metric
        )

        def trial_progress(fraction: float, message: str) -> None:
            watcher.progress(fraction, message)
            reporter.report(fraction, f"trial {trial.number}: {message}")

        try:
            result = train(trial_config, prepared, progress=trial_progress, cancel=watcher.cancel)
        except CancelledError:
            if watcher.should_prune:
                raise optuna.TrialPruned(f"pruned after epoch {watcher.reported}") from None
            raise
        watcher.report_history(result.history)
        return _best_value(result.history, training.monitor_metric, training.monitor_mode)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, catch=(TrainingError,))
    return _summarise(optuna, study, config, space, out, storage)


def _summarise(
    optuna: Any,
    study: Any,
    config: ForestGapsConfig,
    space: SearchSpace,
    out: Path,
    storage: str,
) -> TuningResult:
    states = [trial.state for trial in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    if complete == 0:
        return TuningResult(study.study_name, storage, len(states), 0, pruned, None)
    best = study.best_trial
    best_config = suggest_config(optuna.trial.FixedTrial(best.params), config, space)
    best_yaml = yaml.safe_dump(best_config.model_dump(mode="json"), sort_keys=False)
    path = write_text_atomic(out / "best.yaml", BEST_HEADER + best_yaml)
    write_json_atomic(
        out / "best.json",
        {
            "study_name": study.study_name,
            "trial": best.number,
            "value": best.value,
            "metric": config.training.monitor_metric,
            "params": best.params,
            "n_trials": len(states),
            "n_complete": complete,
            "n_pruned": pruned,
        },
    )
    return TuningResult(
        study.study_name, storage, len(states), complete, pruned, best.value, best.params, path
    )

"""Optional MLflow tracking: the flattened config as params, epoch metrics, the model folder.

Enabled by ``training.monitoring.mlflow``; mlflow is imported only then, and a missing
install is a :class:`ConfigError` naming the extra to install. Only rank 0 talks to MLflow.
The run stays open after the last epoch so :func:`forestgaps_engine.training.api.train` can
attach the saved model folder through :meth:`MlflowLogger.finish`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forestgaps_engine.errors import require_package
from forestgaps_engine.training.callbacks.base import Callback

if TYPE_CHECKING:
    from forestgaps_engine.config import ForestGapsConfig
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)

# Older MLflow servers reject parameter values over 500 characters; newer ones allow more.
MAX_PARAM_CHARS = 500


def dotted_leaves(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of a nested mapping (a list is a leaf) under its dotted key."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(dotted_leaves(value, name) if isinstance(value, Mapping) else {name: value})
    return flat


def flatten_params(values: Mapping[str, Any]) -> dict[str, str]:
    """Dotted keys to strings for every leaf of a nested mapping (lists as their text)."""
    return {key: str(value)[:MAX_PARAM_CHARS] for key, value in dotted_leaves(values).items()}


class MlflowLogger(Callback):
    """Logs one MLflow run per training call (a resumed run starts a new MLflow run).

    Args:
        config: the whole config, logged as flattened params.
        tracking_uri: e.g. ``file:///.../mlruns`` or ``http://host:5000``.
        experiment: experiment name (created when missing).

    Raises:
        ConfigError: mlflow is not installed.
    """

    def __init__(self, config: ForestGapsConfig, tracking_uri: str, experiment: str) -> None:
        # Imported here to fail before training starts, not after an epoch.
        self.mlflow = require_package(
            "mlflow", "training.monitoring.mlflow = true",
            "Install the extra: pip install .[mlflow] (or pip install mlflow-skinny), or set "
            "training.monitoring.mlflow=false.",
        )  # fmt: skip
        self.config = config
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.run_id: str | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start the MLflow run and log the flattened config as params (main process)."""
        if not trainer.is_main_process:
            return
        if self.tracking_uri.startswith("file:"):
            # MLflow 3 refuses its file store unless asked; it is the only local store that
            # works without SQLAlchemy (mlflow-skinny).
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.mlflow.set_tracking_uri(self.tracking_uri)
        self.mlflow.set_experiment(self.experiment)
        run = self.mlflow.start_run()
        self.run_id = run.info.run_id
        self.mlflow.log_params(flatten_params(self.config.model_dump(mode="json")))
        logger.info("MLflow run %s in %s", self.run_id, self.tracking_uri)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """Log the epoch's finite metrics and learning rate."""
        if self.run_id is None:
            return
        metrics = {
            key: float(value)
            for key, value in logs.items()
            if isinstance(value, int | float) and math.isfinite(float(value))
        }
        metrics["lr"] = float(trainer.optimizer.param_groups[0]["lr"])
        self.mlflow.log_metrics(metrics, step=epoch)

    def finish(self, model_dir: Path | None, status: str = "FINISHED") -> None:
        """Attach ``model_dir`` as the ``model`` artifact (when given) and end the run."""
        if self.run_id is None:
            return
        try:
            if model_dir is not None:
                self.mlflow.log_artifacts(str(model_dir), artifact_path="model")
        finally:
            self.mlflow.end_run(status=status)
            self.run_id = None

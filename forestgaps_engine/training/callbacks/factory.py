"""The standard callback list of a training run, in the order they must run."""

from __future__ import annotations

from pathlib import Path

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.training.callbacks.base import Callback
from forestgaps_engine.training.callbacks.checkpoint import ModelCheckpoint
from forestgaps_engine.training.callbacks.early_stopping import EarlyStopping
from forestgaps_engine.training.callbacks.lr_monitor import LearningRateMonitor
from forestgaps_engine.training.callbacks.mlflow_logger import MlflowLogger
from forestgaps_engine.training.callbacks.profiler import ProfilerCallback
from forestgaps_engine.training.callbacks.progress import ProgressDisplay
from forestgaps_engine.training.callbacks.regularization import RegularizationCallback
from forestgaps_engine.training.callbacks.tensorboard import TensorBoardLogger


def default_callbacks(
    config: ForestGapsConfig, output_dir: Path, has_validation: bool = True
) -> tuple[list[Callback], ModelCheckpoint]:
    """Build the training callbacks in run order, checkpoints last.

    Order: progress, lr monitor, TensorBoard, MLflow, profiler, regularization, early
    stopping, then checkpoints.

    Returns:
        The list for the Trainer, and the checkpoint callback (its paths and best epoch).
    """
    training = config.training
    monitoring = training.monitoring
    monitor = training.monitor_metric if has_validation else "loss"
    mode = training.monitor_mode if has_validation else "min"
    callbacks: list[Callback] = [
        ProgressDisplay(log_every_steps=monitoring.log_every_steps),
        LearningRateMonitor(),
    ]
    if monitoring.tensorboard:
        callbacks.append(
            TensorBoardLogger(
                output_dir / "tensorboard",
                config,
                log_every_steps=monitoring.log_every_steps,
                image_every_epochs=monitoring.image_every_epochs,
                images_per_log=monitoring.images_per_log,
                activation_layer=monitoring.activation_layer,
                activation_logs_per_run=monitoring.activation_logs_per_run,
            )
        )
    if monitoring.mlflow:
        callbacks.append(
            MlflowLogger(
                config,
                monitoring.mlflow_tracking_uri or (output_dir / "mlruns").resolve().as_uri(),
                monitoring.mlflow_experiment,
            )
        )
    if monitoring.profile_steps > 0:
        callbacks.append(ProfilerCallback(output_dir / "tensorboard", monitoring.profile_steps))
    callbacks.append(RegularizationCallback(training.regularization))
    if training.early_stopping_patience_epochs > 0 and has_validation:
        callbacks.append(EarlyStopping(monitor, mode, training.early_stopping_patience_epochs))
    checkpoint = ModelCheckpoint(
        output_dir / "checkpoints", monitor, mode, every_steps=training.checkpoint_every_steps
    )
    callbacks.append(checkpoint)
    return callbacks, checkpoint

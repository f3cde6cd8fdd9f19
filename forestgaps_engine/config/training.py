"""Optimisation, schedule, loss, augmentation, monitoring and run control for training."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from forestgaps_engine.config.base import StrictModel


class OptimizerConfig(StrictModel):
    """AdamW or SGD (Nesterov momentum); norms and biases never get weight decay."""

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(default=1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(default=1e-4, ge=0.0, le=1.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)


class SchedulerConfig(StrictModel):
    """Learning-rate schedule with an optional linear warmup (stepped once per optimizer step)."""

    name: Literal["onecycle", "cosine_restarts", "poly", "plateau", "constant"] = "onecycle"
    warmup_epochs: int = Field(default=0, ge=0, le=1000)
    min_lr: float = Field(default=1e-6, ge=0.0, le=1.0)
    restart_epochs: int = Field(default=10, ge=1, le=10000)
    poly_power: float = Field(default=0.9, gt=0.0, le=10.0)
    plateau_patience_epochs: int = Field(default=3, ge=0, le=1000)
    plateau_factor: float = Field(default=0.5, gt=0.0, lt=1.0)


class LossConfig(StrictModel):
    """Weights of the masked loss terms (their sum must be > 0) and their shape parameters."""

    bce_weight: float = Field(default=0.5, ge=0.0)
    dice_weight: float = Field(default=0.5, ge=0.0)
    focal_weight: float = Field(default=0.0, ge=0.0)
    tversky_weight: float = Field(default=0.0, ge=0.0)
    focal_gamma: float = Field(default=2.0, ge=0.0, le=10.0)
    tversky_alpha: float = Field(default=0.3, ge=0.0, le=1.0)
    tversky_beta: float = Field(default=0.7, ge=0.0, le=1.0)
    label_smoothing: float = Field(default=0.0, ge=0.0, le=0.4)
    pos_weight_by_threshold: dict[float, float] = Field(default_factory=dict)
    # Per metre of mean relief correction (relief models with correction_bound_m): the
    # model leaves the baseline's ground only where the masks pay for it.
    correction_l1_weight: float = Field(default=0.0, ge=0.0)

    @model_validator(mode="after")
    def _some_weight(self) -> LossConfig:
        total = self.bce_weight + self.dice_weight + self.focal_weight + self.tversky_weight
        if total <= 0:
            raise ValueError("bce/dice/focal/tversky weights sum to 0; give one a weight > 0")
        bad = {t: w for t, w in self.pos_weight_by_threshold.items() if not w > 0}
        if bad:
            raise ValueError(f"pos_weight_by_threshold values must be > 0, got {bad}")
        return self


class AugmentationConfig(StrictModel):
    """Augmentation on device batches: shared geometry for DSM/mask/validity, DSM-only noise."""

    enabled: bool = True
    flip: bool = True
    rot90: bool = True
    affine_degrees: float = Field(default=10.0, ge=0.0, le=180.0)
    affine_scale: float = Field(default=0.1, ge=0.0, le=0.5)
    affine_probability: float = Field(default=0.5, ge=0.0, le=1.0)
    elastic_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    noise_std_m: float = Field(default=0.1, ge=0.0, le=10.0)
    vertical_offset_m: float = Field(default=50.0, ge=0.0, le=5000.0)
    tilt_max_slope: float = Field(default=0.2, ge=0.0, le=2.0)


class LinearScheduleConfig(StrictModel):
    """A probability ramped linearly from ``start`` (epoch 1) to ``end`` over ``over_epochs``.

    Disabled, the model keeps the value it was built with (``model.params``).
    """

    enabled: bool = False
    start: float = Field(default=0.0, ge=0.0, lt=1.0)
    end: float = Field(default=0.1, ge=0.0, lt=1.0)
    # Held at ``end`` afterwards; 0 or 1 applies ``end`` from the first epoch.
    over_epochs: int = Field(default=10, ge=0, le=100000)

    def value_at(self, epoch: int) -> float:
        """The scheduled probability for 0-based ``epoch``."""
        if epoch >= self.over_epochs - 1:
            return self.end
        return self.start + (self.end - self.start) * epoch / (self.over_epochs - 1)


class AdaptiveRegularizationConfig(StrictModel):
    """Strengthen regularization while validation loss stays above training loss.

    After ``patience_epochs`` consecutive epochs with ``val_loss - loss > gap_threshold``,
    dropout and drop path rise by ``probability_step`` and every decayed parameter group's
    weight decay is multiplied by ``weight_decay_factor``, never beyond the ``max_*`` caps.
    """

    enabled: bool = False
    gap_threshold: float = Field(default=0.05, ge=0.0, le=10.0)
    patience_epochs: int = Field(default=2, ge=1, le=1000)
    probability_step: float = Field(default=0.05, ge=0.0, le=0.5)
    weight_decay_factor: float = Field(default=2.0, ge=1.0, le=100.0)
    max_dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    max_drop_path: float = Field(default=0.3, ge=0.0, lt=1.0)
    max_weight_decay: float = Field(default=0.1, ge=0.0, le=1.0)


class RegularizationConfig(StrictModel):
    """Dropout and drop-path schedules and adaptive strengthening (label smoothing: ``loss``)."""

    dropout_schedule: LinearScheduleConfig = Field(default_factory=LinearScheduleConfig)
    # ``end`` is the deepest block's rate; shallower blocks get linearly less.
    drop_path_schedule: LinearScheduleConfig = Field(default_factory=LinearScheduleConfig)
    adaptive: AdaptiveRegularizationConfig = Field(default_factory=AdaptiveRegularizationConfig)


class MonitoringConfig(StrictModel):
    """TensorBoard logging, the console progress display and optional MLflow tracking."""

    tensorboard: bool = True
    image_every_epochs: int = Field(default=1, ge=1, le=10000)
    images_per_log: int = Field(default=4, ge=1, le=64)
    activation_layer: str | None = None
    activation_logs_per_run: int = Field(default=3, ge=0, le=100)
    log_every_steps: int = Field(default=10, ge=1, le=100000)
    # torch.profiler trace of this many steps into the TensorBoard folder (0 = off).
    profile_steps: int = Field(default=0, ge=0, le=1000)
    # Needs the ``mlflow`` extra (pip install .[mlflow]).
    mlflow: bool = False
    # None: a local file store in <training.output_dir>/mlruns.
    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = "forestgaps"


class TrainingConfig(StrictModel):
    """One training run."""

    epochs: int = Field(default=50, ge=1, le=100000)
    batch_size: int = Field(default=16, ge=1, le=4096)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    augmentation: AugmentationConfig = Field(default_factory=AugmentationConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    grad_clip_norm: float = Field(default=1.0, ge=0.5, le=3.0)
    accumulation_steps: int = Field(default=1, ge=1, le=1024)
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    seed: int = Field(default=0, ge=0)
    deterministic: bool = False
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # "auto": measured once per machine and tile size (training/loader_calibration.py).
    num_workers: int | Literal["auto"] = "auto"
    # Keep every shard's bytes in RAM; "auto" when the shards take < 25% of available RAM.
    cache_in_memory: bool | Literal["auto"] = "auto"
    output_dir: str = "out/training"
    monitor_metric: str = "val_iou"
    monitor_mode: Literal["max", "min"] = "max"
    early_stopping_patience_epochs: int = Field(default=10, ge=0, le=100000)
    checkpoint_every_steps: int = Field(default=0, ge=0)
    max_steps_per_epoch: int = Field(default=0, ge=0)
    # BatchNorm statistics recomputed over this many training batches before each
    # validation (training/batchnorm.py); 0 keeps the running averages of training.
    bn_recalibration_batches: int = Field(default=16, ge=0, le=100000)

    @field_validator("amp", mode="before")
    @classmethod
    def _yaml_off_is_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as False; `--set training.amp=off` means "off".
        return "off" if value is False else value

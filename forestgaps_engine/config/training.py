"""Optimisation, schedule, loss and run control for training."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forestgaps_engine.config.base import StrictModel


class OptimizerConfig(StrictModel):
    """AdamW or SGD (Nesterov momentum)."""

    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(default=1e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(default=1e-4, ge=0.0, le=1.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)


class SchedulerConfig(StrictModel):
    """Learning-rate schedule with an optional linear warmup."""

    name: Literal["onecycle", "cosine_restarts", "poly", "plateau", "constant"] = "onecycle"
    warmup_epochs: int = Field(default=0, ge=0, le=1000)
    min_lr: float = Field(default=1e-6, ge=0.0, le=1.0)


class LossConfig(StrictModel):
    """Weights of the masked loss terms (their sum must be > 0)."""

    bce_weight: float = Field(default=0.5, ge=0.0)
    dice_weight: float = Field(default=0.5, ge=0.0)
    focal_weight: float = Field(default=0.0, ge=0.0)
    tversky_weight: float = Field(default=0.0, ge=0.0)


class TrainingConfig(StrictModel):
    """One training run."""

    epochs: int = Field(default=50, ge=1, le=100000)
    batch_size: int = Field(default=16, ge=1, le=4096)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    grad_clip_norm: float = Field(default=1.0, ge=0.5, le=3.0)
    accumulation_steps: int = Field(default=1, ge=1, le=1024)
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    seed: int = Field(default=0, ge=0)
    deterministic: bool = False
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    num_workers: int | Literal["auto"] = "auto"
    output_dir: str = "out/training"

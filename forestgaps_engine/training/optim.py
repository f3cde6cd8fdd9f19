"""Optimisers from config: AdamW or SGD with Nesterov momentum, no decay on norms/biases."""

from __future__ import annotations

import logging

import torch
from torch import nn

from forestgaps_engine.config.training import OptimizerConfig
from forestgaps_engine.errors import ConfigError

logger = logging.getLogger(__name__)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split trainable parameters: weight decay on weight matrices and kernels only.

    Biases, norm scales/shifts and other 1-D parameters are left undecayed: shrinking them
    towards zero fights normalisation instead of regularising.
    """
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    decay = [parameter for parameter in trainable if parameter.ndim >= 2]
    no_decay = [parameter for parameter in trainable if parameter.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, config: OptimizerConfig) -> torch.optim.Optimizer:
    """AdamW or SGD (Nesterov) over ``model``'s trainable parameters.

    Raises:
        ConfigError: when the model has no trainable parameter.
    """
    groups = parameter_groups(model, config.weight_decay)
    if not any(group["params"] for group in groups):
        raise ConfigError(
            f"model {type(model).__name__} has no trainable parameter",
            hint="Check model.params; a frozen model cannot be trained.",
        )
    if config.name == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)

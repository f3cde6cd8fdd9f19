"""Activation factory: one name in a config, one module out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from torch import nn

from forestgaps_engine.errors import ModelError

ActivationName = Literal["relu", "leaky_relu", "silu", "swish", "mish", "gelu"]

_FACTORIES: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "silu": lambda: nn.SiLU(inplace=True),
    "swish": lambda: nn.SiLU(inplace=True),  # swish with beta = 1 is SiLU
    "mish": lambda: nn.Mish(inplace=True),
    "gelu": lambda: nn.GELU(),
}

ACTIVATION_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_activation(name: str) -> nn.Module:
    """A fresh activation module.

    Args:
        name: one of ``ACTIVATION_NAMES`` (case-insensitive).

    Returns:
        The activation module (in-place where PyTorch allows it).

    Raises:
        ModelError: ``name`` is not a known activation.
    """
    factory = _FACTORIES.get(name.lower())
    if factory is None:
        raise ModelError(
            f"unknown activation {name!r}",
            hint=f"Use one of: {', '.join(ACTIVATION_NAMES)}.",
        )
    return factory()

"""AdaptiveNorm: BatchNorm for large per-device batches, GroupNorm for small ones.

BatchNorm statistics over a batch of 2 or 4 tiles are noisy enough to hurt training and
make eval behave differently from training; GroupNorm does not depend on the batch size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Literal

from torch import nn

from forestgaps_engine.errors import ModelError

NormName = Literal["auto", "batch", "group", "instance"]
NORM_NAMES: tuple[str, ...] = ("auto", "batch", "group", "instance")

NormFactory = Callable[[int], nn.Module]


def resolve_norm(kind: str, per_device_batch_size: int, min_batch_for_batchnorm: int = 8) -> str:
    """The concrete norm ``"auto"`` stands for, given the batch each device sees.

    Args:
        kind: ``"auto"``, ``"batch"``, ``"group"`` or ``"instance"``.
        per_device_batch_size: tiles per forward pass on one device.
        min_batch_for_batchnorm: smallest per-device batch for which ``"auto"`` picks BatchNorm.

    Returns:
        ``"batch"``, ``"group"`` or ``"instance"``.

    Raises:
        ModelError: unknown ``kind``.
    """
    if kind not in NORM_NAMES:
        raise ModelError(f"unknown norm {kind!r}", hint=f"Use one of: {', '.join(NORM_NAMES)}.")
    if kind != "auto":
        return kind
    return "batch" if per_device_batch_size >= min_batch_for_batchnorm else "group"


def group_count(channels: int, max_groups: int = 8) -> int:
    """Largest group count <= ``max_groups`` that divides ``channels``."""
    return math.gcd(channels, max_groups) or 1


def make_norm_factory(
    kind: str,
    per_device_batch_size: int,
    min_batch_for_batchnorm: int = 8,
    max_groups: int = 8,
) -> NormFactory:
    """A callable ``channels -> norm module`` fixed for a whole model.

    Args:
        kind: ``"auto"``, ``"batch"``, ``"group"`` or ``"instance"``.
        per_device_batch_size: tiles per forward pass on one device (drives ``"auto"``).
        min_batch_for_batchnorm: threshold for ``"auto"``.
        max_groups: GroupNorm uses the largest divisor of the channel count up to this.

    Returns:
        Factory building one normalisation layer per call.
    """
    concrete = resolve_norm(kind, per_device_batch_size, min_batch_for_batchnorm)
    if concrete == "batch":
        return nn.BatchNorm2d
    if concrete == "group":
        return lambda channels: nn.GroupNorm(group_count(channels, max_groups), channels)
    return partial(nn.InstanceNorm2d, affine=True)

"""Attention factory for conv blocks: ``"none"``, ``"cbam"`` or ``"eca"``."""

from __future__ import annotations

from typing import Literal

from torch import nn

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.blocks.cbam import CBAM
from forestgaps_engine.models.blocks.eca import ECA

AttentionName = Literal["none", "cbam", "eca"]
ATTENTION_NAMES: tuple[str, ...] = ("none", "cbam", "eca")


def make_attention(name: str, channels: int) -> nn.Module:
    """Channel/spatial attention for ``channels`` features (``nn.Identity`` for ``"none"``).

    Raises:
        ModelError: unknown ``name``.
    """
    if name == "none":
        return nn.Identity()
    if name == "cbam":
        return CBAM(channels)
    if name == "eca":
        return ECA(channels)
    raise ModelError(
        f"unknown attention {name!r}", hint=f"Use one of: {', '.join(ATTENTION_NAMES)}."
    )

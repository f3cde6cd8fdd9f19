"""U-Net with FiLM threshold conditioning at every stage."""

from __future__ import annotations

from pydantic import Field

from forestgaps_engine.models.base import FiLMParams
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet import UNet


class UNetFiLMParams(FiLMParams):
    """FiLM U-Net parameters."""

    depth: int = Field(4, ge=1, le=6, description="number of 2x downsamplings")


@register(
    "unet_film",
    description="U-Net whose every stage is FiLM-modulated by a threshold embedding",
    config=UNetFiLMParams,
)
class UNetFiLM(UNet):
    """U-Net; each double convolution is scaled and shifted per channel by the threshold.

    The FiLM layers start as the identity, so at init this is a plain U-Net and the
    threshold's influence is learned.
    """

    uses_film = True

"""Baseline U-Net: the threshold enters only as a constant input channel."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Tensor

from forestgaps_engine.models.base import CommonParams, SegmentationModel
from forestgaps_engine.models.blocks.conv import DoubleConv
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet_core import UNetBody, stage_channels


class UNetParams(CommonParams):
    """U-Net parameters."""

    depth: int = Field(4, ge=1, le=6, description="number of 2x downsamplings")


@register(
    "unet",
    description="U-Net baseline (Ronneberger 2015); threshold as a constant input channel",
    config=UNetParams,
)
class UNet(SegmentationModel):
    """Classic U-Net with double convolutions; ``threshold_m / threshold_max_m`` is a channel."""

    # Attention after every double convolution (``unet_cbam`` sets it).
    attention: ClassVar[str] = "none"

    def __init__(self, config: UNetParams) -> None:
        super().__init__(config, output_stride=2**config.depth, uses_threshold_channel=True)
        norm = self.norm_factory()
        self.body = UNetBody(
            self.in_channels,
            stage_channels(config.base_channels, config.depth),
            lambda cin, cout, _index: DoubleConv(
                cin, cout, norm, config.activation, attention=self.attention
            ),
            dropout=config.dropout,
        )

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W); the body ignores ``threshold_m`` (it came in as a channel)."""
        return self.body(inputs)

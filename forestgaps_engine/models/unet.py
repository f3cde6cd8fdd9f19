"""Baseline U-Net: the threshold enters only as a constant input channel.

Its variants ``unet_cbam`` and ``unet_film`` change one class attribute each.
"""

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
    # FiLM-modulate every block by a threshold embedding instead of taking the threshold
    # as a channel (``unet_film`` sets it; its params are ``FiLMParams``).
    uses_film: ClassVar[bool] = False

    def __init__(self, config: CommonParams) -> None:
        super().__init__(
            config, output_stride=2**config.depth, uses_threshold_channel=not self.uses_film
        )
        norm = self.norm_factory()
        embedding_dim = None
        if self.uses_film:
            self.threshold_encoder = self.make_threshold_encoder()
            embedding_dim = config.embedding_dim
        self.body = UNetBody(
            self.in_channels,
            stage_channels(config.base_channels, config.depth),
            lambda cin, cout, _index: DoubleConv(
                cin, cout, norm, config.activation, embedding_dim, self.attention
            ),
            dropout=config.dropout,
        )

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W); without FiLM the threshold came in as a channel."""
        embedding = self.threshold_encoder(threshold_m) if self.uses_film else None
        return self.body(inputs, embedding)

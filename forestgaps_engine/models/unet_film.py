"""U-Net with FiLM threshold conditioning at every stage."""

from __future__ import annotations

from pydantic import Field
from torch import Tensor

from forestgaps_engine.models.base import FiLMParams, SegmentationModel
from forestgaps_engine.models.blocks.conv import DoubleConv
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet_core import UNetBody, stage_channels


class UNetFiLMParams(FiLMParams):
    """FiLM U-Net parameters."""

    depth: int = Field(4, ge=1, le=6, description="number of 2x downsamplings")


@register(
    "unet_film",
    description="U-Net whose every stage is FiLM-modulated by a threshold embedding",
    config=UNetFiLMParams,
)
class UNetFiLM(SegmentationModel):
    """U-Net; each double convolution is scaled and shifted per channel by the threshold.

    The FiLM layers start as the identity, so at init this is a plain U-Net and the
    threshold's influence is learned.
    """

    def __init__(self, config: UNetFiLMParams) -> None:
        super().__init__(config, output_stride=2**config.depth)
        norm = self.norm_factory()
        self.threshold_encoder = self.make_threshold_encoder()
        self.body = UNetBody(
            self.in_channels,
            stage_channels(config.base_channels, config.depth),
            lambda cin, cout, _index: DoubleConv(
                cin, cout, norm, config.activation, embedding_dim=config.embedding_dim
            ),
            dropout=config.dropout,
        )

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W) with every block FiLM-modulated by ``threshold_m``."""
        return self.body(inputs, self.threshold_encoder(threshold_m))

"""Flagship: residual U-Net with FiLM at every stage, CBAM, stochastic depth, bottleneck attention."""

from __future__ import annotations

from pydantic import Field
from torch import Tensor

from forestgaps_engine.models.base import FiLMParams, SegmentationModel
from forestgaps_engine.models.blocks.activation import ActivationName
from forestgaps_engine.models.blocks.attention import AttentionName
from forestgaps_engine.models.blocks.drop_path import drop_path_rates
from forestgaps_engine.models.blocks.efficient_attention import EfficientAttention
from forestgaps_engine.models.blocks.residual import ResidualBlock
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet_core import UNetBody, stage_channels


class UNetFiLMCBAMParams(FiLMParams):
    """Flagship parameters."""

    base_channels: int = Field(24, ge=4, le=256, description="width of the first stage")
    depth: int = Field(4, ge=1, le=6, description="number of 2x downsamplings")
    attention: AttentionName = Field("cbam", description="attention after every block")
    drop_path: float = Field(0.1, ge=0.0, lt=1.0, description="stochastic depth, last block")
    bottleneck_attention: bool = Field(True, description="efficient self-attention at bottom")
    attention_heads: int = Field(4, ge=1, le=16, description="heads of the bottleneck attention")
    activation: ActivationName = "silu"


@register(
    "unet_film_cbam",
    description="Residual U-Net: FiLM every stage, CBAM, DropPath, efficient bottleneck attention",
    config=UNetFiLMCBAMParams,
)
class UNetFiLMCBAM(SegmentationModel):
    """Residual blocks modulated by the threshold (FiLM), each followed by attention.

    Stochastic depth grows linearly from 0 at the first block to ``drop_path`` at the last
    decoder block.
    """

    def __init__(self, config: UNetFiLMCBAMParams) -> None:
        super().__init__(config, output_stride=2**config.depth)
        norm = self.norm_factory()
        # One rate per UNetBody block (block index 0 .. 2 * depth).
        rates = drop_path_rates(config.drop_path, 2 * config.depth + 1)
        channels = stage_channels(config.base_channels, config.depth)
        self.threshold_encoder = self.make_threshold_encoder()
        self.body = UNetBody(
            self.in_channels,
            channels,
            lambda cin, cout, index: ResidualBlock(
                cin,
                cout,
                norm,
                config.activation,
                embedding_dim=config.embedding_dim,
                attention=config.attention,
                drop_path=rates[index],
            ),
            bottleneck_extra=(
                EfficientAttention(channels[-1], config.attention_heads)
                if config.bottleneck_attention
                else None
            ),
            dropout=config.dropout,
        )

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W) with every block FiLM-modulated by ``threshold_m``."""
        return self.body(inputs, self.threshold_encoder(threshold_m))

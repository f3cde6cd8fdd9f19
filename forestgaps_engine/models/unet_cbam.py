"""U-Net with CBAM attention after every block; threshold as a constant input channel."""

from __future__ import annotations

from pydantic import Field
from torch import Tensor

from forestgaps_engine.models.base import CommonParams, SegmentationModel
from forestgaps_engine.models.blocks.conv import DoubleConv
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet_core import UNetBody, stage_channels


class UNetCBAMParams(CommonParams):
    """CBAM U-Net parameters."""

    depth: int = Field(4, ge=1, le=6, description="number of 2x downsamplings")


@register(
    "unet_cbam",
    description="U-Net with CBAM channel+spatial attention; threshold as an input channel",
    config=UNetCBAMParams,
)
class UNetCBAM(SegmentationModel):
    """U-Net whose double convolutions are each followed by CBAM."""

    def __init__(self, config: UNetCBAMParams) -> None:
        super().__init__(config, output_stride=2**config.depth, uses_threshold_channel=True)
        norm = self.norm_factory()
        self.body = UNetBody(
            self.in_channels,
            stage_channels(config.base_channels, config.depth),
            lambda cin, cout, _index: DoubleConv(
                cin, cout, norm, config.activation, attention="cbam"
            ),
            dropout=config.dropout,
        )

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W); the CBAM U-Net ignores ``threshold_m``."""
        return self.body(inputs)

"""U-Net with CBAM attention after every block; threshold as a constant input channel."""

from __future__ import annotations

from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet import UNet, UNetParams


@register(
    "unet_cbam",
    description="U-Net with CBAM channel+spatial attention; threshold as an input channel",
    config=UNetParams,
)
class UNetCBAM(UNet):
    """U-Net whose double convolutions are each followed by CBAM."""

    attention = "cbam"

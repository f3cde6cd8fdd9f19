"""Mobile U-Net: MobileNetV2 inverted-residual encoder, light FiLM decoder. CPU-friendly."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from pydantic import Field
from torch import Tensor, nn

from forestgaps_engine.models.base import FiLMParams, SegmentationModel
from forestgaps_engine.models.blocks.conv import ConvNormAct
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.mobile_blocks import (
    InvertedResidual,
    LightDecoderBlock,
    make_divisible,
)
from forestgaps_engine.models.registry import register

# MobileNetV2 stages as (expansion or None for the configured one, channels relative to
# the stem width, repeats, stride); the stem itself has stride 2.
_STAGES = [
    (1, 0.5, 1, 1),  # 1/2
    (None, 0.75, 2, 2),  # 1/4
    (None, 1.0, 3, 2),  # 1/8
    (None, 2.0, 4, 2),  # 1/16
    (None, 3.0, 3, 1),  # 1/16
    (None, 5.0, 3, 2),  # 1/32
    (None, 10.0, 1, 1),  # 1/32
]


class MobileUNetParams(FiLMParams):
    """Mobile U-Net parameters (``base_channels`` is the stem width; 32 = MobileNetV2 x1.0)."""

    base_channels: int = Field(24, ge=8, le=128, description="stem width")
    expansion: int = Field(6, ge=1, le=8, description="inverted residual expansion ratio")


@register(
    "mobile_unet",
    description="MobileNetV2 encoder + light separable decoder with FiLM; fast on CPU",
    config=MobileUNetParams,
)
class MobileUNet(SegmentationModel):
    """MobileNetV2 encoder with skips at 1/2, 1/4, 1/8, 1/16; decoder back to full size.

    The last decoder step joins the raw inputs so gap edges are drawn at full resolution.
    """

    def __init__(self, config: MobileUNetParams) -> None:
        super().__init__(config, output_stride=32)
        norm = self.norm_factory()
        act = config.activation
        width = config.base_channels
        embedding = config.embedding_dim
        self.threshold_encoder = self.make_threshold_encoder()
        self.stem = ConvNormAct(self.in_channels, width, norm, act, stride=2)
        self.levels = nn.ModuleList()  # one Sequential per output resolution 1/2 .. 1/32
        level: list[nn.Module] = []
        previous = width
        skip_channels = []
        for expansion, relative, repeats, stride in _STAGES:
            channels = make_divisible(width * relative)
            if stride == 2 and level:
                self.levels.append(nn.Sequential(*level))
                skip_channels.append(previous)
                level = []
            for index in range(repeats):
                level.append(
                    InvertedResidual(
                        previous,
                        channels,
                        stride if index == 0 else 1,
                        expansion or config.expansion,
                        norm,
                        act,
                    )
                )
                previous = channels
        self.levels.append(nn.Sequential(*level))
        self.bottleneck_film = FiLM(embedding, previous)
        # decoder widths at 1/16, 1/8, 1/4, 1/2, 1/1
        decoder_widths = [make_divisible(width * factor) for factor in (2, 1, 0.75, 0.5, 0.5)]
        targets = list(reversed(skip_channels)) + [self.in_channels]
        self.decoder = nn.ModuleList()
        for skip, out_channels in zip(targets, decoder_widths, strict=True):
            self.decoder.append(
                LightDecoderBlock(previous + skip, out_channels, norm, act, embedding)
            )
            previous = out_channels
        self.dropout = nn.Dropout2d(config.dropout) if config.dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(previous, 1, 1)

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W) from the MobileNet encoder and FiLM decoder."""
        embedding = self.threshold_encoder(threshold_m)
        skips = [inputs]
        x = self.stem(inputs)
        for level in self.levels:
            x = level(x)
            skips.append(x)
        skips.pop()  # the deepest output is the bottleneck, not a skip
        x = self.bottleneck_film(x, embedding)
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1), embedding)
        return self.head(self.dropout(x))

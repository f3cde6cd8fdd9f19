"""DeepLabV3+ (Chen et al. 2018) with a ResNet-style encoder trained from scratch, FiLM-conditioned.

Output stride 16: the last stage keeps 1/16 resolution and dilates instead of striding.
ASPP (1x1, 3x3 at rates 6/12/18, image pooling) on the deepest features; the decoder
upsamples x4, joins a 48-channel projection of the 1/4 features, refines and upsamples x4.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from pydantic import Field
from torch import Tensor, nn

from forestgaps_engine.models.base import FiLMParams, SegmentationModel
from forestgaps_engine.models.blocks.activation import make_activation
from forestgaps_engine.models.blocks.conv import ConvNormAct
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.blocks.norm import NormFactory
from forestgaps_engine.models.blocks.residual import ResidualBlock
from forestgaps_engine.models.registry import register


class DeepLabV3PlusParams(FiLMParams):
    """DeepLabV3+ parameters."""

    base_channels: int = Field(32, ge=4, le=256, description="stem width; stages x1 x2 x4 x8")
    blocks_per_stage: tuple[int, int, int, int] = Field(
        (2, 2, 2, 2), description="residual blocks in each of the four encoder stages"
    )
    aspp_channels: int = Field(128, ge=8, le=1024, description="ASPP and decoder width")
    aspp_rates: tuple[int, int, int] = Field((6, 12, 18), description="ASPP dilation rates")
    low_level_channels: int = Field(48, ge=4, le=256, description="1/4 skip projection")


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling with an image-pooling branch.

    The pooled branch is averaged to 1x1 and interpolated back to the feature size taken
    from the tensor's shape, so ONNX keeps H and W dynamic. It has no norm layer: a norm
    over one value per channel is undefined at batch size 1.

    Shape:
        x: ``(B, in_channels, h, w)``. Returns ``(B, out_channels, h, w)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        rates: tuple[int, ...],
        norm: NormFactory,
        activation: str,
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [ConvNormAct(in_channels, out_channels, norm, activation, kernel_size=1)]
            + [
                ConvNormAct(in_channels, out_channels, norm, activation, dilation=rate)
                for rate in rates
            ]
        )
        self.pooling = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), make_activation(activation)
        )
        self.project = ConvNormAct(
            out_channels * (len(rates) + 2), out_channels, norm, activation, kernel_size=1
        )

    def forward(self, x: Tensor) -> Tensor:
        """ASPP: parallel dilated branches and image pooling, fused by a 1x1 conv."""
        outputs = [branch(x) for branch in self.branches]
        pooled = self.pooling(F.adaptive_avg_pool2d(x, 1))
        outputs.append(F.interpolate(pooled, size=x.shape[-2:], mode="nearest"))
        return self.project(torch.cat(outputs, dim=1))


@register(
    "deeplabv3plus",
    description="DeepLabV3+ (OS16, ASPP 6/12/18 + image pooling), ResNet encoder, FiLM",
    config=DeepLabV3PlusParams,
)
class DeepLabV3Plus(SegmentationModel):
    """DeepLabV3+; FiLM in every encoder block, after ASPP and after the decoder."""

    def __init__(self, config: DeepLabV3PlusParams) -> None:
        super().__init__(config, output_stride=16)
        norm = self.norm_factory()
        act = config.activation
        width = config.base_channels
        embedding = config.embedding_dim
        self.threshold_encoder = self.make_threshold_encoder()
        self.stem = nn.Sequential(
            ConvNormAct(self.in_channels, width, norm, act, stride=2),
            ConvNormAct(width, width, norm, act),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        # (channels, stride, dilation) per stage: 1/4, 1/8, 1/16, 1/16 dilated
        layout = [(width, 1, 1), (width * 2, 2, 1), (width * 4, 2, 1), (width * 8, 1, 2)]
        self.stages = nn.ModuleList()
        previous = width
        for (channels, stride, dilation), count in zip(
            layout, config.blocks_per_stage, strict=True
        ):
            blocks = nn.ModuleList()
            for index in range(count):
                blocks.append(
                    ResidualBlock(
                        previous,
                        channels,
                        norm,
                        act,
                        stride=stride if index == 0 else 1,
                        dilation=dilation,
                        embedding_dim=embedding,
                    )
                )
                previous = channels
            self.stages.append(blocks)
        self.aspp = ASPP(previous, config.aspp_channels, config.aspp_rates, norm, act)
        self.aspp_film = FiLM(embedding, config.aspp_channels)
        self.low_level = ConvNormAct(width, config.low_level_channels, norm, act, kernel_size=1)
        self.decoder = nn.Sequential(
            ConvNormAct(
                config.aspp_channels + config.low_level_channels, config.aspp_channels, norm, act
            ),
            ConvNormAct(config.aspp_channels, config.aspp_channels, norm, act),
        )
        self.decoder_film = FiLM(embedding, config.aspp_channels)
        self.dropout = nn.Dropout2d(config.dropout) if config.dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(config.aspp_channels, 1, 1)

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W) from the DeepLabV3+ encoder, ASPP and decoder."""
        embedding = self.threshold_encoder(threshold_m)
        x = self.stem(inputs)
        low_level = x
        for index, blocks in enumerate(self.stages):
            for block in blocks:
                x = block(x, embedding)
            if index == 0:
                low_level = x
        x = self.aspp_film(self.aspp(x), embedding)
        x = F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)
        x = self.decoder(torch.cat([x, self.low_level(low_level)], dim=1))
        x = self.head(self.dropout(self.decoder_film(x, embedding)))
        return F.interpolate(x, scale_factor=4.0, mode="bilinear", align_corners=False)

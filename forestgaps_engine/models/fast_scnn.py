"""Fast-SCNN (Poudel et al. 2019): learning to downsample, global features, fusion, classifier.

Departures from the paper, both for this task:
- The pyramid pooling uses global average pooling plus stride-1 local averages (3x3, 5x5)
  instead of adaptive pooling to 2x2/3x3/6x6 bins, whose kernel depends on the input
  size and cannot be exported to ONNX with dynamic H and W.
- An optional full-resolution refinement (on by default) joins the upsampled classifier
  features with the raw inputs, because canopy gaps are a few pixels wide and a 1/8
  classifier alone blurs their edges.
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
from forestgaps_engine.models.mobile_blocks import InvertedResidual, SeparableConv
from forestgaps_engine.models.registry import register


class FastSCNNParams(FiLMParams):
    """Fast-SCNN parameters (``base_channels`` 32 = the paper's widths)."""

    base_channels: int = Field(32, ge=8, le=128, description="first conv width")
    expansion: int = Field(6, ge=1, le=8, description="inverted residual expansion ratio")
    refine_full_resolution: bool = Field(True, description="full-resolution edge refinement")
    refine_channels: int = Field(8, ge=4, le=64, description="width of the refinement")


class PoolingPyramid(nn.Module):
    """Context from a global average and two local averages, projected and fused.

    Shape:
        x: ``(B, C, h, w)``. Returns ``(B, out_channels, h, w)``.
    """

    def __init__(
        self, channels: int, out_channels: int, norm: NormFactory, activation: str
    ) -> None:
        super().__init__()
        branch = max(channels // 4, 4)
        self.global_branch = nn.Sequential(
            nn.Conv2d(channels, branch, 1), make_activation(activation)
        )
        self.local_sizes = (3, 5)
        # no norm in the pooled branches: on small inputs a pooled map can be spatially
        # constant, which a norm at batch 1 turns into zeros (and zero gradients)
        self.local_branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, branch, 1), make_activation(activation))
            for _ in self.local_sizes
        )
        self.project = ConvNormAct(
            channels + 3 * branch, out_channels, norm, activation, kernel_size=1
        )

    def forward(self, x: Tensor) -> Tensor:
        """Add the global pooled context to ``x`` and fuse; spatial size unchanged."""
        pooled = self.global_branch(x.mean(dim=(2, 3), keepdim=True))
        outputs = [x, pooled.expand(-1, -1, x.shape[2], x.shape[3])]
        for size, branch in zip(self.local_sizes, self.local_branches, strict=True):
            local = F.avg_pool2d(x, size, stride=1, padding=size // 2, count_include_pad=False)
            outputs.append(branch(local))
        return self.project(torch.cat(outputs, dim=1))


@register(
    "fast_scnn",
    description="Fast-SCNN (two-branch real-time net), FiLM on fused features, edge refinement",
    config=FastSCNNParams,
)
class FastSCNN(SegmentationModel):
    """Fast-SCNN with FiLM conditioning of the fused 1/8 features."""

    def __init__(self, config: FastSCNNParams) -> None:
        super().__init__(config, output_stride=32)
        norm = self.norm_factory()
        act = config.activation
        width = config.base_channels
        t = config.expansion
        c1, c2, c3, c4, c5 = (width * f // 2 for f in (2, 3, 4, 6, 8))  # 32 48 64 96 128
        self.threshold_encoder = self.make_threshold_encoder()
        self.learning_to_downsample = nn.Sequential(
            ConvNormAct(self.in_channels, c1, norm, act, stride=2),
            SeparableConv(c1, c2, norm, act, stride=2),
            SeparableConv(c2, c3, norm, act, stride=2),
        )
        blocks: list[nn.Module] = []
        previous = c3
        for channels, stride in ((c3, 2), (c4, 2), (c5, 1)):
            for index in range(3):
                blocks.append(
                    InvertedResidual(previous, channels, stride if index == 0 else 1, t, norm, act)
                )
                previous = channels
        self.global_features = nn.Sequential(*blocks, PoolingPyramid(c5, c5, norm, act))
        self.fuse_high = nn.Sequential(
            ConvNormAct(c5, c5, norm, act, groups=c5),
            nn.Conv2d(c5, c5, 1, bias=False),
            norm(c5),
        )
        self.fuse_low = nn.Sequential(nn.Conv2d(c3, c5, 1, bias=False), norm(c5))
        self.fuse_activation = make_activation(act)
        self.fusion_film = FiLM(config.embedding_dim, c5)
        self.classifier = nn.Sequential(
            SeparableConv(c5, c5, norm, act),
            SeparableConv(c5, c5, norm, act),
            nn.Dropout2d(config.dropout) if config.dropout > 0 else nn.Identity(),
        )
        self.refine_full_resolution = config.refine_full_resolution
        if config.refine_full_resolution:
            k = config.refine_channels
            self.classifier.append(nn.Conv2d(c5, k, 1))
            self.refine = nn.Sequential(
                ConvNormAct(k + self.in_channels, k, norm, act), nn.Conv2d(k, 1, 1)
            )
        else:
            self.classifier.append(nn.Conv2d(c5, 1, 1))
            self.refine = nn.Identity()

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B, 1, H, W) from Fast-SCNN's downsample, global and fusion branches."""
        embedding = self.threshold_encoder(threshold_m)
        low = self.learning_to_downsample(inputs)
        high = self.global_features(low)
        high = F.interpolate(high, scale_factor=4.0, mode="bilinear", align_corners=False)
        fused = self.fuse_activation(self.fuse_high(high) + self.fuse_low(low))
        x = self.classifier(self.fusion_film(fused, embedding))
        x = F.interpolate(x, scale_factor=8.0, mode="bilinear", align_corners=False)
        if self.refine_full_resolution:
            x = self.refine(torch.cat([x, inputs], dim=1))
        return x

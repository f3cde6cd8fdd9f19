"""MobileNetV2-style blocks shared by ``mobile_unet`` and ``fast_scnn``."""

from __future__ import annotations

from torch import Tensor, nn

from forestgaps_engine.models.blocks.activation import make_activation
from forestgaps_engine.models.blocks.conv import ConvNormAct
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.blocks.norm import NormFactory


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (hardware-friendly), never < 90 %."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand, 3x3 depthwise (strided), linear 1x1 projection.

    The skip connection is used when the stride is 1 and channels are unchanged.

    Shape:
        x: ``(B, in_channels, H, W)``. Returns ``(B, out_channels, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expansion: int,
        norm: NormFactory,
        activation: str,
    ) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(ConvNormAct(in_channels, hidden, norm, activation, kernel_size=1))
        layers += [
            ConvNormAct(hidden, hidden, norm, activation, stride=stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            norm(out_channels),
        ]
        self.body = nn.Sequential(*layers)
        self.has_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        """The inverted residual, with the skip when input and output shapes match."""
        return x + self.body(x) if self.has_skip else self.body(x)


class SeparableConv(nn.Sequential):
    """Depthwise 3x3 then pointwise 1x1, each normalised and activated (Fast-SCNN's DSConv)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        activation: str,
        stride: int = 1,
    ) -> None:
        super().__init__(
            ConvNormAct(
                in_channels, in_channels, norm, activation, stride=stride, groups=in_channels
            ),
            ConvNormAct(in_channels, out_channels, norm, activation, kernel_size=1),
        )


class LightDecoderBlock(nn.Module):
    """Pointwise reduce, depthwise 3x3, pointwise mix, FiLM, activation.

    Shape:
        x: ``(B, in_channels, H, W)``; embedding: ``(B, embedding_dim)``.
        Returns ``(B, out_channels, H, W)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        activation: str,
        embedding_dim: int,
    ) -> None:
        super().__init__()
        self.reduce = ConvNormAct(in_channels, out_channels, norm, activation, kernel_size=1)
        self.depthwise = ConvNormAct(
            out_channels, out_channels, norm, activation, groups=out_channels
        )
        self.mix = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.norm = norm(out_channels)
        self.film = FiLM(embedding_dim, out_channels)
        self.activation = make_activation(activation)

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        """Separable conv, normalize, FiLM-modulate with ``embedding``, activate."""
        x = self.norm(self.mix(self.depthwise(self.reduce(x))))
        return self.activation(self.film(x, embedding))

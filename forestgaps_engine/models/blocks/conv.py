"""Plain U-Net double convolution, optionally FiLM-conditioned and followed by attention."""

from __future__ import annotations

from torch import Tensor, nn

from forestgaps_engine.models.blocks.activation import make_activation
from forestgaps_engine.models.blocks.attention import make_attention
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.blocks.norm import NormFactory


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution without bias (a norm follows), padding keeping the size at stride 1."""
    return nn.Conv2d(
        in_channels,
        out_channels,
        3,
        stride=stride,
        padding=dilation,
        dilation=dilation,
        bias=False,
    )


class ConvNormAct(nn.Sequential):
    """Convolution, normalisation, activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        activation: str,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
    ) -> None:
        padding = dilation * (kernel_size // 2)
        super().__init__(
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=False,
            ),
            norm(out_channels),
            make_activation(activation),
        )


class DoubleConv(nn.Module):
    """``(conv3x3 -> norm -> act) x 2``; FiLM before the last activation; then attention.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        norm: normalisation factory.
        activation: activation name.
        embedding_dim: threshold embedding size, or ``None`` for no FiLM.
        attention: ``"none"``, ``"cbam"`` or ``"eca"``.

    Shape:
        x: ``(B, in_channels, H, W)``; embedding: ``(B, embedding_dim)`` or ``None``.
        Returns ``(B, out_channels, H, W)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        activation: str,
        embedding_dim: int | None = None,
        attention: str = "none",
    ) -> None:
        super().__init__()
        self.first = ConvNormAct(in_channels, out_channels, norm, activation)
        self.conv = conv3x3(out_channels, out_channels)
        self.norm = norm(out_channels)
        self.film = FiLM(embedding_dim, out_channels) if embedding_dim else None
        self.activation = make_activation(activation)
        self.attention = make_attention(attention, out_channels)

    def forward(self, x: Tensor, embedding: Tensor | None = None) -> Tensor:
        """Convolve, normalize, FiLM-modulate when given ``embedding``, activate."""
        x = self.norm(self.conv(self.first(x)))
        if self.film is not None:
            x = self.film(x, embedding)
        return self.attention(self.activation(x))

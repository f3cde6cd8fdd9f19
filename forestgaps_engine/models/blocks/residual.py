"""Residual conv block with optional FiLM, attention and stochastic depth."""

from __future__ import annotations

from torch import Tensor, nn

from forestgaps_engine.models.blocks.activation import make_activation
from forestgaps_engine.models.blocks.attention import make_attention
from forestgaps_engine.models.blocks.conv import conv3x3
from forestgaps_engine.models.blocks.drop_path import DropPath
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.blocks.norm import NormFactory


class ResidualBlock(nn.Module):
    """``act(shortcut(x) + drop_path(attention(film(norm(conv(act(norm(conv(x))))))))``.

    The shortcut is a 1x1 projection when the channel count or stride changes.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        norm: normalisation factory.
        activation: activation name.
        stride: stride of the first convolution (2 halves H and W).
        dilation: dilation of both 3x3 convolutions.
        embedding_dim: threshold embedding size, or ``None`` for no FiLM.
        attention: ``"none"``, ``"cbam"`` or ``"eca"``.
        drop_path: probability of dropping the residual branch per sample in training.

    Shape:
        x: ``(B, in_channels, H, W)``; embedding: ``(B, embedding_dim)`` or ``None``.
        Returns ``(B, out_channels, H / stride, W / stride)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        activation: str,
        stride: int = 1,
        dilation: int = 1,
        embedding_dim: int | None = None,
        attention: str = "none",
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride=stride, dilation=dilation)
        self.norm1 = norm(out_channels)
        self.act1 = make_activation(activation)
        self.conv2 = conv3x3(out_channels, out_channels, dilation=dilation)
        self.norm2 = norm(out_channels)
        self.film = FiLM(embedding_dim, out_channels) if embedding_dim else None
        self.attention = make_attention(attention, out_channels)
        self.drop_path = DropPath(drop_path)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                norm(out_channels),
            )
        else:
            self.shortcut = nn.Identity()
        self.act2 = make_activation(activation)

    def forward(self, x: Tensor, embedding: Tensor | None = None) -> Tensor:
        """Two conv-norm layers plus the skip, FiLM-modulated when given ``embedding``."""
        branch = self.act1(self.norm1(self.conv1(x)))
        branch = self.norm2(self.conv2(branch))
        if self.film is not None:
            branch = self.film(branch, embedding)
        branch = self.drop_path(self.attention(branch))
        return self.act2(self.shortcut(x) + branch)

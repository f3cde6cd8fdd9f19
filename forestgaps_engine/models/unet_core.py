"""The U-Net skeleton shared by the four U-Net variants; each variant supplies its block.

Encoder: ``depth`` times (block, 2x2 max-pool); bottleneck block; decoder: ``depth`` times
(bilinear x2 upsample, concatenate the skip, block); 1x1 head. Bilinear upsampling plus a
convolution instead of transposed convolutions avoids checkerboard artefacts in gap edges.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from torch import Tensor, nn

BlockBuilder = Callable[[int, int, int], nn.Module]
"""``(in_channels, out_channels, block_index) -> block`` with ``forward(x, embedding)``."""


def stage_channels(base_channels: int, depth: int, max_channels: int = 512) -> list[int]:
    """Channels of stages 0..depth: doubling from ``base_channels``, capped."""
    return [min(base_channels * 2**level, max_channels) for level in range(depth + 1)]


class UNetBody(nn.Module):
    """Encoder-decoder with skips; blocks receive the threshold embedding (or ``None``).

    Args:
        in_channels: input channels.
        channels: channels per stage, ``len(channels) = depth + 1`` (last is the bottleneck).
        make_block: builder called with a running block index (0 .. 2 * depth).
        bottleneck_extra: optional module applied after the bottleneck block.
        dropout: Dropout2d probability before the head.

    Shape:
        x: ``(B, in_channels, H, W)`` with H, W multiples of ``2 ** depth``.
        Returns ``(B, 1, H, W)`` logits.
    """

    def __init__(
        self,
        in_channels: int,
        channels: list[int],
        make_block: BlockBuilder,
        bottleneck_extra: nn.Module | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        depth = len(channels) - 1
        # Block index: encoder 0 .. depth - 1, bottleneck depth, decoder depth + 1 .. 2 * depth.
        block_inputs = [in_channels, *channels]
        self.encoder = nn.ModuleList(
            make_block(block_inputs[level], channels[level], level) for level in range(depth)
        )
        self.bottleneck = make_block(block_inputs[depth], channels[depth], depth)
        self.bottleneck_extra = bottleneck_extra or nn.Identity()
        # Each decoder block takes the upsampled deeper stage and the skip of its level.
        self.decoder = nn.ModuleList(
            make_block(channels[level + 1] + channels[level], channels[level], 2 * depth - level)
            for level in reversed(range(depth))
        )
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Conv2d(channels[0], 1, 1)

    def forward(self, x: Tensor, embedding: Tensor | None = None) -> Tensor:
        """Logits (B, 1, H, W) through the encoder and decoder, skips concatenated."""
        skips = []
        for block in self.encoder:
            x = block(x, embedding)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck_extra(self.bottleneck(x, embedding))
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1), embedding)
        return self.head(self.dropout(x))

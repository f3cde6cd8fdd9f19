"""Threshold conditioning: encode ``threshold_m`` once, modulate features with FiLM.

FiLM (Perez et al. 2018) scales and shifts every channel: ``y = gamma * x + beta``, with
``gamma`` and ``beta`` predicted from the threshold embedding. Each FiLM layer starts as the
identity (``gamma = 1``, ``beta = 0``): a FiLM layer whose ``gamma`` starts at zero erases its
features and blocks the gradient of everything before it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from forestgaps_engine.models.blocks.activation import make_activation


class ThresholdEncoder(nn.Module):
    """Threshold in metres -> embedding vector.

    The threshold is scaled by ``threshold_max_m`` (so 0..1 over the useful range), expanded
    into Fourier features ``[t, sin(2^k pi t), cos(2^k pi t)]`` so the MLP can resolve nearby
    thresholds, then passed through a two-layer MLP.

    Args:
        embedding_dim: size of the output embedding.
        threshold_max_m: threshold mapped to 1.0 before the Fourier features.
        num_frequencies: number of octaves ``k = 0 .. num_frequencies - 1``.
        activation: activation name between the two MLP layers.

    Shape:
        threshold_m: ``(B,)`` float32, metres. Returns ``(B, embedding_dim)``.
    """

    def __init__(
        self,
        embedding_dim: int = 64,
        threshold_max_m: float = 30.0,
        num_frequencies: int = 6,
        activation: str = "silu",
    ) -> None:
        super().__init__()
        self.threshold_max_m = float(threshold_max_m)
        self.register_buffer(
            "frequencies",
            math.pi * 2.0 ** torch.arange(num_frequencies, dtype=torch.float32),
            persistent=False,
        )
        feature_count = 1 + 2 * num_frequencies
        self.mlp = nn.Sequential(
            nn.Linear(feature_count, embedding_dim),
            make_activation(activation),
            nn.Linear(embedding_dim, embedding_dim),
        )

    def forward(self, threshold_m: Tensor) -> Tensor:
        """Sinusoidal embedding (B, dim) of thresholds (B,) in metres."""
        scaled = (threshold_m.reshape(-1, 1) / self.threshold_max_m).to(torch.float32)
        angles = scaled * self.frequencies
        features = torch.cat([scaled, torch.sin(angles), torch.cos(angles)], dim=1)
        return self.mlp(features)


class FiLM(nn.Module):
    """Per-channel affine modulation ``gamma * x + beta`` predicted from an embedding.

    ``gamma = 1 + delta_gamma``; the projection predicting ``(delta_gamma, beta)`` is zero-
    initialised, so the layer is exactly the identity at init and learns away from it.

    Args:
        embedding_dim: size of the threshold embedding.
        channels: number of feature channels modulated.

    Shape:
        x: ``(B, C, H, W)``; embedding: ``(B, embedding_dim)``. Returns ``(B, C, H, W)``.
    """

    def __init__(self, embedding_dim: int, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.projection = nn.Linear(embedding_dim, 2 * channels)
        nn.init.zeros_(self.projection.weight)
        nn.init.zeros_(self.projection.bias)

    def gamma_beta(self, embedding: Tensor) -> tuple[Tensor, Tensor]:
        """``gamma`` and ``beta`` of shape ``(B, C, 1, 1)``."""
        delta_gamma, beta = self.projection(embedding).chunk(2, dim=1)
        gamma = 1.0 + delta_gamma
        return gamma[:, :, None, None], beta[:, :, None, None]

    def forward(self, x: Tensor, embedding: Tensor) -> Tensor:
        """``x * gamma + beta`` with gamma and beta from the threshold embedding."""
        gamma, beta = self.gamma_beta(embedding)
        return x * gamma + beta

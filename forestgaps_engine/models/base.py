"""What every architecture shares: common parameters, input assembly, pad and crop.

Every model is called as ``model(dsm, threshold_m)`` with ``dsm (B, 1, H, W)`` normalised
heights and ``threshold_m (B * K,)`` in metres, for any H and W, and returns logits
``(B * K, 1, H, W)`` (no sigmoid): window ``b`` is evaluated under thresholds
``b * K .. b * K + K - 1`` (K = 1 is one threshold per window). Passing each window once
for K thresholds lets a model whose trunk ignores the threshold run that trunk once
(``shares_windows``); the others repeat the window K times inside. Subclasses implement
``forward_padded`` on inputs already padded to ``output_stride`` multiples, and sharing
models ``forward_shared``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.blocks.activation import ActivationName
from forestgaps_engine.models.blocks.film import ThresholdEncoder
from forestgaps_engine.models.blocks.norm import NormFactory, NormName, make_norm_factory
from forestgaps_engine.models.blocks.positional import PositionalChannels, PositionalName
from forestgaps_engine.models.padding import pad_to_multiple


def repeat_windows(windows: Tensor, n_rows: int) -> Tensor:
    """``(B, ...)`` -> ``(n_rows, ...)``: each window repeated ``n_rows // B`` times in a row.

    Written with expand and reshape of traced sizes so the repeat count stays dynamic in
    ONNX (K = 1 is a no-op reshape).
    """
    batch = windows.shape[0]
    repeats = n_rows // batch
    expanded = windows.unsqueeze(1).expand(batch, repeats, *windows.shape[1:])
    return expanded.reshape(n_rows, *windows.shape[1:])


class CommonParams(BaseModel):
    """Parameters every architecture accepts."""

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)

    base_channels: int = Field(16, ge=4, le=256, description="width of the first stage")
    norm: NormName = Field("auto", description="auto: batch if per_device_batch_size >= min")
    per_device_batch_size: int = Field(16, ge=1, description="tiles per device per step")
    min_batch_for_batchnorm: int = Field(8, ge=1, description="auto picks batch norm from here")
    activation: ActivationName = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout2d before the head")
    threshold_max_m: float = Field(30.0, gt=0.0, description="threshold scaled to 1.0")
    positional: PositionalName = Field("none", description="extra coordinate input channels")


class FiLMParams(CommonParams):
    """Parameters of threshold-embedding (FiLM) architectures."""

    embedding_dim: int = Field(64, ge=8, le=512, description="threshold embedding size")
    threshold_frequencies: int = Field(6, ge=0, le=12, description="Fourier octaves")


class SegmentationModel(nn.Module):
    """Base of every registered architecture.

    Args:
        config: validated parameters (kept as ``self.config``).
        output_stride: inputs are padded to a multiple of this before ``forward_padded``.
        uses_threshold_channel: append ``threshold_m / threshold_max_m`` as a constant
            input channel (the baseline's only threshold input).
    """

    model_name: ClassVar[str] = "unregistered"
    # True: ``forward_shared`` computes the threshold-free part once per window.
    shares_windows: ClassVar[bool] = False

    def __init__(
        self, config: CommonParams, output_stride: int, uses_threshold_channel: bool = False
    ) -> None:
        super().__init__()
        self.config = config
        self.name = self.model_name
        self.output_stride = output_stride
        self.uses_threshold_channel = uses_threshold_channel
        self.threshold_max_m = float(config.threshold_max_m)
        self.positional = (
            PositionalChannels(config.positional) if config.positional != "none" else None
        )
        # Layers sized in metres read the cell size of the windows they are given here
        # (``set_cell_size_m``); loading a model sets its card's training resolution.
        self.cell_sizes_m: tuple[float, ...] = (1.0,)

    @property
    def uses_cell_size(self) -> bool:
        """Whether layers are sized in metres, so outputs depend on ``set_cell_size_m``."""
        return False

    def set_cell_size_m(self, cell_sizes_m: float | Sequence[float]) -> None:
        """Metres per cell of the next windows: one value for all, or one per window.

        Raises:
            ModelError: a cell size is not a positive number.
        """
        values = [cell_sizes_m] if isinstance(cell_sizes_m, Real) else list(cell_sizes_m)
        sizes = tuple(float(value) for value in values)
        if not sizes or not all(size > 0 for size in sizes):
            raise ModelError(
                f"{self.name}: cell sizes must be positive metres, got {values}",
                hint="Pass the grid's cell size in metres (e.g. 0.5).",
            )
        self.cell_sizes_m = sizes

    @property
    def uses_terrain_prior(self) -> bool:
        """Whether the input carries a coarse terrain band after the DSM (``terrain_prior``)."""
        return bool(getattr(self.config, "terrain_prior", False))

    @property
    def input_bands(self) -> int:
        """Bands of the ``dsm`` argument: the DSM, then the terrain prior when used."""
        return 1 + int(self.uses_terrain_prior)

    @property
    def in_channels(self) -> int:
        """Channels fed to the network: DSM (+ prior), threshold channel, positional channels."""
        extra = self.positional.channels if self.positional is not None else 0
        return self.input_bands + int(self.uses_threshold_channel) + extra

    def norm_factory(self) -> NormFactory:
        """Normalisation layers chosen by ``norm`` and ``per_device_batch_size``."""
        config = self.config
        return make_norm_factory(
            config.norm, config.per_device_batch_size, config.min_batch_for_batchnorm
        )

    def make_threshold_encoder(self) -> ThresholdEncoder:
        """The threshold embedding MLP for FiLM models (needs ``FiLMParams``)."""
        config = self.config
        return ThresholdEncoder(
            config.embedding_dim,
            config.threshold_max_m,
            config.threshold_frequencies,
            activation="silu",
        )

    def assemble_inputs(self, dsm: Tensor, threshold_m: Tensor) -> Tensor:
        """Stack the DSM with the threshold channel and positional channels.

        Shape:
            dsm: ``(B, 1, H, W)``; threshold_m: ``(B,)``. Returns ``(B, in_channels, H, W)``.
        """
        parts = [dsm]
        if self.uses_threshold_channel:
            scaled = (threshold_m.reshape(-1, 1, 1, 1) / self.threshold_max_m).to(dsm.dtype)
            parts.append(torch.ones_like(dsm) * scaled)
        if self.positional is not None:
            parts.append(self.positional(dsm))
        return torch.cat(parts, dim=1) if len(parts) > 1 else dsm

    def forward(self, dsm: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits for every pixel.

        Args:
            dsm: ``(B, 1, H, W)`` float32, normalised heights, any H and W; a model with
                ``uses_terrain_prior`` takes ``(B, 2, H, W)``: the DSM, then the coarse
                terrain normalised in the DSM's frame (same offset and scale).
            threshold_m: ``(B * K,)`` float32, gap height thresholds in metres; window ``b``
                goes with thresholds ``b * K .. b * K + K - 1``.

        Returns:
            ``(B * K, 1, H, W)`` logits (apply a sigmoid for probabilities).

        Raises:
            ModelError: ``dsm`` is not 4-D with one channel, or the thresholds are not a
                whole multiple of the windows.
        """
        if dsm.dim() != 4 or dsm.shape[1] != self.input_bands:
            raise ModelError(
                f"{self.name}: dsm must have shape (B, {self.input_bands}, H, W), got "
                f"{tuple(dsm.shape)}",
                hint=(
                    "Stack the normalised DSM and terrain prior as bands 0 and 1."
                    if self.uses_terrain_prior
                    else "Add the batch and channel axes: dsm[None, None] for a single 2-D tile."
                ),
            )
        threshold_m = threshold_m.reshape(-1).to(dsm.dtype)
        if not torch.jit.is_tracing() and threshold_m.shape[0] % max(dsm.shape[0], 1):
            raise ModelError(
                f"{self.name}: {threshold_m.shape[0]} thresholds for {dsm.shape[0]} windows; "
                "each window needs the same number of thresholds",
                hint="Pass K thresholds per window, window-major: (B * K,).",
            )
        height, width = dsm.shape[-2], dsm.shape[-1]
        if not self.shares_windows:
            dsm = repeat_windows(dsm, threshold_m.shape[0])
        inputs = pad_to_multiple(self.assemble_inputs(dsm, threshold_m), self.output_stride)
        forward = self.forward_shared if self.shares_windows else self.forward_padded
        return forward(inputs, threshold_m)[:, :, :height, :width]

    def forward_shared(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """``forward_padded`` for ``(B, C, H, W)`` inputs and ``(B * K,)`` thresholds.

        Only called when ``shares_windows`` is True. Returns ``(B * K, 1, H, W)``.
        """
        raise NotImplementedError

    def forward_padded(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits for inputs whose H and W are multiples of ``output_stride``.

        Shape:
            inputs: ``(B, in_channels, H, W)``; threshold_m: ``(B,)`` metres.
            Returns ``(B, 1, H, W)``.
        """
        raise NotImplementedError

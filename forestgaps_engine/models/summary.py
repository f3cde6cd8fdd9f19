"""Size and cost of a model: parameters, FLOPs, CPU latency and activation memory per tile.

Methods (also stated in docs/models.md):
- FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` over one eval forward at batch 1;
  it counts convolutions and matrix products with 1 multiply-accumulate = 2 FLOPs and
  ignores element-wise ops (norms, activations, bias adds, interpolation).
- CPU latency: median wall time of ``repeats`` forwards at batch 1 under
  ``torch.inference_mode`` after one warm-up, with the current torch thread count.
- Activation memory: one training-mode forward at batch 1 under
  ``torch.autograd.graph.saved_tensors_hooks``; the bytes of every distinct storage the
  autograd graph keeps for backward are summed. That is the memory a training step holds
  per tile on top of the weights, gradients and optimizer state.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from forestgaps_engine.models.registry import available_models, create, get_spec

DEFAULT_THRESHOLD_M = 5.0


@contextmanager
def in_mode(model: nn.Module, is_training: bool) -> Iterator[nn.Module]:
    """``model`` in training or eval mode inside the block; its own mode is restored after."""
    was_training = model.training
    model.train(is_training)
    try:
        yield model
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def example_inputs(tile_size_px: int = 256, batch_size: int = 1) -> tuple[Tensor, Tensor]:
    """A deterministic ``(dsm, threshold_m)`` pair: ``(B, 1, S, S)`` and ``(B,)`` metres."""
    generator = torch.Generator().manual_seed(0)
    dsm = torch.randn(batch_size, 1, tile_size_px, tile_size_px, generator=generator)
    threshold_m = torch.full((batch_size,), DEFAULT_THRESHOLD_M)
    return dsm, threshold_m


def gflops_per_tile(
    model: nn.Module, tile_size_px: int = 256, thresholds_per_window: int = 1
) -> float:
    """GFLOPs (1 MAC = 2 FLOPs) of one forward on a ``tile_size_px`` square tile, batch 1.

    With ``thresholds_per_window`` K > 1 the tile goes with K thresholds (K outputs): a
    model sharing its trunk across thresholds costs less than K single forwards.
    """
    dsm, threshold_m = example_inputs(tile_size_px)
    threshold_m = threshold_m.repeat(thresholds_per_window)
    with in_mode(model, False), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(dsm, threshold_m)
    return counter.get_total_flops() / 1e9


def cpu_ms_per_tile(model: nn.Module, tile_size_px: int = 256, repeats: int = 5) -> float:
    """Median milliseconds of one CPU forward (batch 1, inference mode) after a warm-up."""
    dsm, threshold_m = example_inputs(tile_size_px)
    durations_ms = []
    with in_mode(model, False), torch.inference_mode():
        model(dsm, threshold_m)
        for _ in range(repeats):
            start = time.perf_counter()
            model(dsm, threshold_m)
            durations_ms.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(durations_ms)


def activation_bytes(model: nn.Module, tile_size_px: int = 256) -> int:
    """Bytes of tensors saved for backward by one training forward at batch 1.

    Distinct storages are counted once (a tensor saved by two ops, or a view of a saved
    tensor, costs memory once).
    """
    dsm, threshold_m = example_inputs(tile_size_px)
    seen: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with in_mode(model, True), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(dsm, threshold_m)
    return sum(seen.values())


@dataclass(frozen=True)
class ModelInfo:
    """What ``forestgaps models`` shows for one architecture (default parameters)."""

    name: str
    description: str
    default_params: dict[str, Any] = field(default_factory=dict)
    param_count: int = 0
    gflops_per_256_tile: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@cache
def model_info(name: str) -> ModelInfo:
    """Description, default parameters, parameter count and GFLOPs per 256x256 tile.

    Builds the model with its defaults once (cached per process).

    Raises:
        ModelError: unknown ``name``.
    """
    spec = get_spec(name)
    torch.manual_seed(0)
    model = create(name)
    return ModelInfo(
        name=name,
        description=spec.description,
        default_params=model.config.model_dump(mode="json"),
        param_count=count_parameters(model),
        gflops_per_256_tile=round(gflops_per_tile(model, 256), 3),
    )


@dataclass(frozen=True)
class ModelMeasurement:
    """Measured cost of one architecture with its default parameters."""

    name: str
    description: str
    param_count: int
    gflops_per_tile: float
    cpu_ms_per_tile: float
    activation_mb_per_tile: float
    tile_size_px: int

    @property
    def mpix_per_s(self) -> float:
        """Throughput implied by the CPU latency, in megapixels per second."""
        return self.tile_size_px**2 / (self.cpu_ms_per_tile / 1000.0) / 1e6

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, throughput included."""
        return {**asdict(self), "mpix_per_s": round(self.mpix_per_s, 3)}


def measure_model(name: str, tile_size_px: int = 256, repeats: int = 5) -> ModelMeasurement:
    """Parameters, GFLOPs, CPU latency and activation memory of ``name`` at its defaults.

    Raises:
        ModelError: unknown ``name``.
    """
    spec = get_spec(name)
    torch.manual_seed(0)
    model = create(name)
    return ModelMeasurement(
        name=name,
        description=spec.description,
        param_count=count_parameters(model),
        gflops_per_tile=round(gflops_per_tile(model, tile_size_px), 3),
        cpu_ms_per_tile=round(cpu_ms_per_tile(model, tile_size_px, repeats), 1),
        activation_mb_per_tile=round(activation_bytes(model, tile_size_px) / 2**20, 1),
        tile_size_px=tile_size_px,
    )


def describe_models() -> list[ModelInfo]:
    """``model_info`` of every registered architecture, sorted by name."""
    return [model_info(name) for name in available_models()]

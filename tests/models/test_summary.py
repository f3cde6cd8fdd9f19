"""Cost measurements and the generated model table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from forestgaps_engine.models import summary
from forestgaps_engine.models.doc import render_models_doc
from forestgaps_engine.models.summary import (
    ModelMeasurement,
    activation_bytes,
    count_parameters,
    cpu_ms_per_tile,
    gflops_per_tile,
)


class OneConv(nn.Module):
    """A model with known cost: one 3x3 convolution, 1 -> 4 channels, no bias."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)

    def forward(self, dsm: torch.Tensor, threshold_m: torch.Tensor) -> torch.Tensor:
        return self.conv(dsm).sum(dim=1, keepdim=True)


def test_parameter_count() -> None:
    assert count_parameters(OneConv()) == 36


def test_flops_count_two_per_multiply_accumulate() -> None:
    macs = 32 * 32 * 4 * 9
    assert gflops_per_tile(OneConv(), tile_size_px=32) == pytest.approx(2 * macs / 1e9)


def test_activation_bytes_counts_saved_tensors_once() -> None:
    # conv saves its input (1 x 32 x 32 float32) and weight; sum saves nothing
    saved = activation_bytes(OneConv(), tile_size_px=32)
    assert saved == 32 * 32 * 4 + 36 * 4


def test_cpu_latency_is_positive() -> None:
    assert cpu_ms_per_tile(OneConv(), tile_size_px=32, repeats=2) > 0


def test_rendered_table_names_method_and_models() -> None:
    measurement = ModelMeasurement(
        name="unet",
        description="U-Net",
        param_count=1_960_000,
        gflops_per_tile=7.0,
        cpu_ms_per_tile=50.0,
        activation_mb_per_tile=97.1,
        tile_size_px=256,
    )
    text = render_models_doc([measurement], repeats=5)
    assert "FlopCounterMode" in text and "saved_tensors_hooks" in text
    assert "| `unet` | U-Net | 1.96 | 7.00 | 50.0 | 1.31 | 97.1 |" in text


def test_measure_model_at_small_tile() -> None:
    result = summary.measure_model("fast_scnn", tile_size_px=64, repeats=1)
    assert result.param_count > 0 and result.gflops_per_tile > 0
    assert result.activation_mb_per_tile > 0 and result.mpix_per_s > 0

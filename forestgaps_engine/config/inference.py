"""Tiled prediction and post-processing."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from forestgaps_engine.config.base import StrictModel


class InferenceConfig(StrictModel):
    """Windowing, batching, blending and the cut from probability to gap mask."""

    tile_size_px: int = Field(default=512, ge=32, le=8192)
    overlap_px: int = Field(default=64, ge=0, le=4096)
    batch_size: int = Field(default=8, ge=1, le=1024)
    blend: Literal["hann", "linear", "none"] = "hann"
    probability_cutoff: float = Field(default=0.5, gt=0.0, lt=1.0)
    min_gap_area_m2: float = Field(default=4.0, ge=0.0)
    # None: no upper bound. ForestGapR's getForestGaps defaults to 1e4 m² (1 ha).
    max_gap_area_m2: float | None = Field(default=None, gt=0.0)
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # auto: the fastest backend agreeing with PyTorch fp32, calibrated once per machine and model.
    backend: Literal[
        "auto", "torch", "torch_compile", "onnxruntime", "openvino", "openvino_bf16",
        "openvino_int8",
    ] = "auto"
    # Opening then closing of the gap mask with a disk of this radius; 0 = no clean-up.
    cleanup_radius_px: int = Field(default=0, ge=0, le=16)
    # Threads that label, measure and trace the gaps strip by strip; 0 = one per core.
    postprocess_threads: int = Field(default=0, ge=0, le=256)
    # Run the model on a worker thread one batch ahead of reading, normalizing, blending
    # and writing (same outputs bit for bit; False runs every step on the calling thread).
    model_thread: bool = True
    # With model_thread: read, normalize, blend and write on threads of their own joined
    # by bounded queues, label each strip of the cut as its rows are finished, and
    # post-process the thresholds in parallel (same files; False: the sequential path).
    overlap_postprocess: bool = True
    # With overlap_postprocess: polygonize blocks of finished strips while the model runs,
    # instead of the whole ids raster after the stream. On 2 cores the model keeps both
    # busy and this slowed predict (4096²: 2.11 against 2.46 MPix/s; 16384²: 134.8 against
    # 130.2 s); it helps where cores are left over (docs/performance.md).
    polygons_in_stream: bool = False
    # Predict on a DSM's own cells when they lie in the model card's native_resolutions_m;
    # False warps every DSM not at the training cell size to it (a 0.5 m DSM then costs
    # about a third of the model time and 7 % less in all, at a loss of accuracy: see
    # docs/benchmark.md and docs/performance.md).
    native_resolutions: bool = True

    @model_validator(mode="after")
    def _area_bounds_ordered(self) -> InferenceConfig:
        if self.max_gap_area_m2 is not None and self.max_gap_area_m2 < self.min_gap_area_m2:
            raise ValueError(
                f"max_gap_area_m2 ({self.max_gap_area_m2:g}) must be >= min_gap_area_m2 "
                f"({self.min_gap_area_m2:g})"
            )
        return self

    @model_validator(mode="after")
    def _overlap_below_half_tile(self) -> InferenceConfig:
        if 2 * self.overlap_px >= self.tile_size_px:
            raise ValueError(
                f"overlap_px ({self.overlap_px}) must be < tile_size_px / 2 "
                f"({self.tile_size_px / 2:g})"
            )
        return self

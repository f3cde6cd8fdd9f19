"""FiLM U-Net that corrects a DSM-only ground estimate instead of learning it from scratch.

Predicting gaps from a DSM alone is mostly a question of where the ground is. A grey opening
of the DSM (the DSM-only baseline's rule) already finds it well under most canopy; what it
misses, a network can fix: dense canopy wider than the window (the opening then sits on the
crowns), ridges and hollows the window flattens, crown texture against smooth bare ground.
So this model:

1. computes ``relief = dsm - opening(dsm)`` inside the graph (``blocks/ground.py``);
2. runs a U-Net on ``(dsm, relief)`` at ``1 / trunk_stride`` of the input resolution
   (corrections to a ground surface are smooth, so a coarse trunk costs a fraction of a
   full-resolution one). The trunk does not see the threshold: it runs once per window
   whatever the number of thresholds (``shares_windows``);
3. conditions a head on the threshold: a 3x3 convolution whose features are FiLM-modulated
   by the threshold embedding, then a 1x1 convolution to logits, at the trunk's resolution;
4. adds, at full resolution, the baseline's own decision margin ``threshold - relief``
   (scaled by a learned metres-per-unit factor, because the DSM arrives normalised) to the
   upsampled head logits, so the rule ``relief <= threshold`` is the starting point and
   sharp gap edges come from the full-resolution relief, not from the coarse trunk.

With ``terrain_prior`` (a coarse DEM warped onto the DSM grid, band 1 of the input,
normalised in the DSM's frame), the model also computes the height above that terrain,
``dsm - prior``, and the relief of a second opening run on it: the coarse terrain takes the
slope and the ridges out of the surface first, so the window need not follow them
(on steep ground the plain opening cuts ridges and sits low in hollows). The trunk sees
both reliefs and the height above the prior; the margin uses a learned blend of the two
reliefs, starting mostly on the prior's (``prior_weight``), so a poor prior can be unlearned.
Without ``terrain_prior`` none of these layers exist and the model is unchanged.

Three options make the model start as the DSM-only baseline and leave it only where the
data say so (``configs/pretrained.yaml``; docs/benchmark.md, "Why the model lost"):

- ``fixed_height_unit``: the metres per normalised unit are the normaliser's own range
  (``calibrate_height_unit``, called by training), not learned, so the margin is the
  baseline's ``threshold - relief`` in true metres. Learned, the unit had drifted to
  0.84 of the range: the margin alone then called 6 m of relief a 5 m gap.
- ``wide_window_px``: a second opening with a wider window. The windows count cells, so
  41 cells are 20 m at 0.5 m and 82 m at 2 m; a 20 m window sits on the crowns of a
  tall closed stand (pyfor_chm_or: IoU 0.35 against 0.99 at 5 m), a wide one cuts ridges
  on slopes. A threshold-free gate from the trunk blends the two reliefs per cell (starts
  at ``wide_gate_init``), so the network chooses the window from what it sees.
- ``zero_init_correction``: the threshold head starts at zero, so the first forward pass
  is the margin rule itself and the learned correction grows only as the loss asks.
- ``ground_window_m``: the window and its smoothing in metres (``MetricRelief``), from the
  cell size of the windows given (``set_cell_size_m``), so the ground is the baseline's
  own on every grid: with a zero correction the model *is* the baseline's rule.
- ``correction_bound_m``: the correction becomes a shift of the relief of at most this
  many metres (``bound * tanh``), so it can only change the decision where the baseline's
  relief lies within that distance of the threshold; where the margin is clear the rule
  stands (a free correction joined small openings to clearings on real sites).

The threshold reaches the output twice: through the FiLM head and through the margin, which
is linear in the threshold; the latter is what carries a threshold never seen in training
to a sensible answer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional alias
from pydantic import Field
from torch import Tensor, nn

from forestgaps_engine.models.base import FiLMParams, SegmentationModel, repeat_windows
from forestgaps_engine.models.blocks.activation import make_activation
from forestgaps_engine.models.blocks.conv import DoubleConv, conv3x3
from forestgaps_engine.models.blocks.film import FiLM
from forestgaps_engine.models.blocks.ground import MetricRelief, OpeningRelief
from forestgaps_engine.models.registry import register
from forestgaps_engine.models.unet_core import UNetBody, stage_channels


class UNetFiLMReliefParams(FiLMParams):
    """Relief FiLM U-Net parameters (windows in cells of the model's training resolution)."""

    depth: int = Field(3, ge=1, le=6, description="number of 2x downsamplings of the trunk")
    trunk_stride: int = Field(2, ge=1, le=4, description="the trunk runs at 1/stride resolution")
    ground_window_px: int = Field(41, ge=3, le=255, description="opening window side, cells, odd")
    ground_smoothing_px: int = Field(9, ge=1, le=63, description="box smoothing side, cells, odd")
    height_unit_m: float = Field(
        60.0, gt=0.0, description="initial metres per normalised unit (learned)"
    )
    margin_scale: float = Field(
        1.0, gt=0.0, description="initial logits per metre of the relief margin (learned)"
    )
    terrain_prior: bool = Field(
        False, description="input band 1 is a coarse terrain model (DEM) in the DSM's frame"
    )
    prior_weight: float = Field(
        0.8, gt=0.0, lt=1.0, description="initial share of the prior's relief in the margin"
    )
    fixed_height_unit: bool = Field(
        False, description="metres per unit = the normaliser's range, not learned"
    )
    wide_window_px: int = Field(
        0, ge=0, le=255, description="second, wider opening window, cells, odd (0 = none)"
    )
    wide_gate_init: float = Field(
        0.2, gt=0.0, lt=1.0, description="initial share of the wide window's relief"
    )
    zero_init_correction: bool = Field(
        False, description="the threshold head starts at zero: the margin rule alone"
    )
    correction_bound_m: float = Field(
        0.0, ge=0.0, le=100.0, description="largest correction of the relief, metres (0 = none)"
    )
    ground_window_m: float = Field(
        0.0, ge=0.0, le=500.0, description="opening window side, metres (0 = ground_window_px)"
    )
    ground_smoothing_m: float = Field(
        4.0, ge=0.0, le=50.0, description="Gaussian sigma of the opened ground, metres"
    )


@register(
    "unet_film_relief",
    description="U-Net correcting a grey-opening ground estimate: threshold-free trunk at "
    "reduced resolution shared by all thresholds, FiLM head, relief-vs-threshold margin",
    config=UNetFiLMReliefParams,
)
class UNetFiLMRelief(SegmentationModel):
    """See the module docstring. Inputs are padded to ``trunk_stride * 2 ** depth``."""

    shares_windows = True

    def __init__(self, config: UNetFiLMReliefParams) -> None:
        super().__init__(config, output_stride=config.trunk_stride * 2**config.depth)
        for name in ("ground_window_px", "ground_smoothing_px", "wide_window_px"):
            # wide_window_px 0 means no wide window.
            if getattr(config, name) % 2 == 0 and getattr(config, name) != 0:
                raise ValueError(f"{name} must be odd, got {getattr(config, name)}")
        norm = self.norm_factory()
        channels = stage_channels(config.base_channels, config.depth)
        self.trunk_stride = config.trunk_stride
        self.correction_bound_m = config.correction_bound_m
        if config.ground_window_m > 0 and config.wide_window_px:
            raise ValueError(
                "ground_window_m (metres) and wide_window_px (cells) exclude each other"
            )
        self.relief: OpeningRelief | MetricRelief = (
            MetricRelief(config.ground_window_m, config.ground_smoothing_m)
            if config.ground_window_m > 0
            else OpeningRelief(config.ground_window_px, config.ground_smoothing_px)
        )
        # Relief of the opening; with a prior also the height above it and its relief.
        extra_channels = 3 if config.terrain_prior else 1
        self.wide_relief: OpeningRelief | None = None
        if config.wide_window_px:
            # Box smoothing scaled with the window, as the baseline's 4 m for 40 m.
            ratio = config.wide_window_px / config.ground_window_px
            wide_smoothing_px = 2 * int(config.ground_smoothing_px * ratio / 2) + 1
            self.wide_relief = OpeningRelief(config.wide_window_px, wide_smoothing_px)
            extra_channels += 1
        self.body = UNetBody(
            self.in_channels + extra_channels,
            channels,
            lambda cin, cout, _index: DoubleConv(cin, cout, norm, config.activation),
            dropout=config.dropout,
        )
        # The body's own 1x1 head is replaced by the threshold-conditioned one below.
        self.body.head = nn.Identity()
        self.threshold_encoder = self.make_threshold_encoder()
        self.head_conv = conv3x3(channels[0], channels[0])
        self.head_norm = norm(channels[0])
        self.head_film = FiLM(config.embedding_dim, channels[0])
        self.head_activation = make_activation(config.activation)
        self.head = nn.Conv2d(channels[0], 1, 1)
        if config.zero_init_correction:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        if self.wide_relief is not None:
            # Threshold-free: the window is a property of the stand, not of the threshold.
            self.wide_gate = nn.Conv2d(channels[0], 1, 1)
            nn.init.zeros_(self.wide_gate.weight)
            share = config.wide_gate_init
            nn.init.constant_(self.wide_gate.bias, math.log(share / (1.0 - share)))
        self.log_height_unit_m = nn.Parameter(torch.tensor(math.log(config.height_unit_m)))
        self.log_margin_scale = nn.Parameter(torch.tensor(math.log(config.margin_scale)))
        self.log_height_unit_m.requires_grad_(not config.fixed_height_unit)
        if config.terrain_prior:
            weight = config.prior_weight
            self.prior_logit = nn.Parameter(torch.tensor(math.log(weight / (1.0 - weight))))

    def calibrate_height_unit(self, metres_per_unit: float) -> None:
        """Set the margin's metres per normalised unit to the normaliser's (training calls it).

        Args:
            metres_per_unit: the normaliser's scale (``relief_range_m`` for
                ``robust_percentile``), metres.
        """
        with torch.no_grad():
            self.log_height_unit_m.fill_(math.log(metres_per_unit))

    @property
    def uses_cell_size(self) -> bool:
        """True with ``ground_window_m``: the window is metres, the cells it spans vary."""
        return isinstance(self.relief, MetricRelief)

    def _relief(self, surface: Tensor) -> Tensor:
        if isinstance(self.relief, MetricRelief):
            return self.relief(surface, self.cell_sizes_m)
        return self.relief(surface)

    def _reliefs(self, inputs: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """(trunk inputs, relief the margin uses, wide relief or None), ``(B, ., H, W)`` units."""
        relief = self._relief(inputs[:, :1])
        wide = self.wide_relief(inputs[:, :1]) if self.wide_relief is not None else None
        wide_inputs = [wide] if wide is not None else []
        if not self.uses_terrain_prior:
            return torch.cat([inputs, relief, *wide_inputs], dim=1), relief, wide
        above_prior = inputs[:, :1] - inputs[:, 1:2]
        # The opening of the detrended surface: the coarse terrain carries slope and ridges.
        prior_relief = self._relief(above_prior)
        trunk_inputs = torch.cat([inputs, relief, above_prior, prior_relief, *wide_inputs], dim=1)
        weight = torch.sigmoid(self.prior_logit)
        return trunk_inputs, relief + weight * (prior_relief - relief), wide

    def _upsample(self, values: Tensor) -> Tensor:
        if self.trunk_stride == 1:
            return values
        return F.interpolate(
            values, scale_factor=float(self.trunk_stride), mode="bilinear", align_corners=False
        )

    def assemble_inputs(self, dsm: Tensor, threshold_m: Tensor) -> Tensor:
        """Inputs, and for a window in metres the reliefs too, before the stride padding.

        The padding's replicated rows would enter a metric window's opening and Gaussian;
        computed first, the ground is the baseline's up to the raster's edge. The trunk
        inputs come first, the margin's relief last.
        """
        inputs = super().assemble_inputs(dsm, threshold_m)
        if not self.uses_cell_size:
            return inputs
        trunk_inputs, relief, _wide = self._reliefs(inputs)
        return torch.cat([trunk_inputs, relief], dim=1)

    def forward_shared(self, inputs: Tensor, threshold_m: Tensor) -> Tensor:
        """Logits (B * K, 1, H, W): the relief trunk once per window, the head per threshold."""
        if self.uses_cell_size:
            trunk_inputs, relief, wide = inputs[:, :-1], inputs[:, -1:], None
        else:
            trunk_inputs, relief, wide = self._reliefs(inputs)
        if self.trunk_stride > 1:
            trunk_inputs = F.avg_pool2d(trunk_inputs, self.trunk_stride)
        trunk = self.body(trunk_inputs)
        if wide is not None:
            share = torch.sigmoid(self._upsample(self.wide_gate(trunk)))
            relief = relief + share * (wide - relief)
        features = self.head_norm(self.head_conv(trunk))
        # The threshold-free work is done: from here on, one row per (window, threshold).
        n_rows = threshold_m.shape[0]
        features = repeat_windows(features, n_rows)
        features = self.head_activation(
            self.head_film(features, self.threshold_encoder(threshold_m))
        )
        correction = self._upsample(self.head(features))
        relief_m = repeat_windows(relief, n_rows) * torch.exp(self.log_height_unit_m)
        margin_m = threshold_m.reshape(-1, 1, 1, 1) - relief_m
        if self.correction_bound_m > 0:
            shift_m = self.correction_bound_m * torch.tanh(correction)
            if self.training:
                # Read by training's correction penalty (loss.correction_l1_weight).
                self.last_correction_m = shift_m
            return torch.exp(self.log_margin_scale) * (margin_m + shift_m)
        return correction + torch.exp(self.log_margin_scale) * margin_m

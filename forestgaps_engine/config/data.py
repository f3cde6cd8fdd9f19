"""Training data preparation: sites, tiling, split, shards, normalization."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from forestgaps_engine.config.base import StrictModel

NormalizationName = Literal["minmax_tile", "zscore_global", "robust_percentile"]
ThresholdBalance = Literal["uniform", "gap_ratio"]


class SiteConfig(StrictModel):
    """One site: DSM + CHM, DSM + DTM, or a lidar point cloud."""

    name: str = Field(min_length=1)
    dsm: str | None = None
    chm: str | None = None
    dtm: str | None = None
    point_cloud: str | None = None
    crs: str | None = None

    @model_validator(mode="after")
    def _enough_inputs(self) -> SiteConfig:
        has_rasters = self.dsm is not None and (self.chm is not None or self.dtm is not None)
        if not has_rasters and self.point_cloud is None:
            raise ValueError(
                f"site {self.name!r} needs dsm + chm, dsm + dtm, or point_cloud"
            )
        return self


class SplitConfig(StrictModel):
    """Fractions of sites (not tiles) per split, so neighbouring tiles never straddle splits."""

    train: float = Field(default=0.7, ge=0.0, le=1.0)
    val: float = Field(default=0.15, ge=0.0, le=1.0)
    test: float = Field(default=0.15, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1.0, got {total:g}")
        return self


class DataConfig(StrictModel):
    """Where sites come from and how they become tiles and shards."""

    sites: list[SiteConfig] = Field(default_factory=list)
    synthetic_sites: int = Field(default=0, ge=0, le=10000)
    resolution_m: float | None = Field(default=None, gt=0.0, le=10.0)
    tile_size_px: int = Field(default=256, ge=32, le=4096)
    overlap_px: int = Field(default=0, ge=0, le=2048)
    min_valid_fraction: float = Field(default=0.9, ge=0.0, le=1.0)
    split: SplitConfig = Field(default_factory=SplitConfig)
    samples_per_shard: int = Field(default=256, ge=1, le=100000)
    normalization: NormalizationName = "robust_percentile"
    # Streaming shuffle of training samples (0 = read shards in order).
    shuffle_buffer_size: int = Field(default=1024, ge=0, le=1_000_000)
    # How a training item's threshold is drawn: uniformly, or weighted toward thresholds
    # at which the tile has gaps.
    threshold_balance: ThresholdBalance = "uniform"
    output_dir: str = "out/prepared"

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> DataConfig:
        if self.overlap_px >= self.tile_size_px:
            raise ValueError(
                f"overlap_px ({self.overlap_px}) must be < tile_size_px ({self.tile_size_px})"
            )
        return self

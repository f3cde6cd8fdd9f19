"""Training data preparation: sites, tiling, split, shards, normalization."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from forestgaps_engine.config.base import StrictModel

NormalizationName = Literal["minmax_tile", "zscore_global", "robust_percentile"]
ThresholdBalance = Literal["uniform", "gap_ratio"]


PointUnit = Literal["auto", "metre", "us_survey_foot", "foot"]
GroundFilterName = Literal["auto", "csf", "none"]


class LidarSiteConfig(StrictModel):
    """How a real point cloud becomes a site (``data/real_sites/``).

    ``units`` applies to X, Y and Z (``auto``: the CRS's axis unit); ``ground_filter``
    classifies ground with the cloth simulation filter (CSF) where the cloud has no ground
    point (``auto``) or always (``csf``); points of ``exclude_classes`` (buildings, 6) are
    left out and their cells become nodata; a ``height_normalised`` cloud (z above ground)
    is a site over flat ground (DSM = CHM).
    """

    resolution_m: float = Field(default=1.0, gt=0.0, le=10.0)
    units: PointUnit = "auto"
    ground_filter: GroundFilterName = "auto"
    exclude_classes: list[int] = Field(default_factory=lambda: [6])
    height_normalised: bool = False
    cloth_resolution_m: float = Field(default=0.5, gt=0.0, le=10.0)
    class_threshold_m: float = Field(default=0.5, gt=0.0, le=5.0)
    steep_slopes: bool = True


class SiteConfig(StrictModel):
    """One site: DSM + CHM, DSM + DTM, a lidar point cloud, or a CHM over flat ground.

    ``source_dir`` names the folder whose ``SOURCE.txt`` (origin, licence) travels with the
    site into the manifest and the model card; ``lidar`` and ``flat_ground`` route the site
    through the real-site builder (``data/real_sites/``).
    """

    name: str = Field(min_length=1)
    dsm: str | None = None
    chm: str | None = None
    dtm: str | None = None
    point_cloud: str | None = None
    crs: str | None = None
    source_dir: str | None = None
    # Origin and licence where the folder has no SOURCE.txt (or a word beside it).
    source_note: str | None = None
    lidar: LidarSiteConfig | None = None
    # A CHM without terrain: the DSM is the CHM itself (ground at 0 m everywhere).
    flat_ground: bool = False

    @model_validator(mode="after")
    def _enough_inputs(self) -> SiteConfig:
        has_rasters = self.dsm is not None and (self.chm is not None or self.dtm is not None)
        has_flat_chm = self.flat_ground and self.chm is not None and self.dsm is None
        if not has_rasters and self.point_cloud is None and not has_flat_chm:
            raise ValueError(
                f"site {self.name!r} needs dsm + chm, dsm + dtm, point_cloud, "
                "or chm with flat_ground"
            )
        if self.lidar is not None and self.point_cloud is None:
            raise ValueError(f"site {self.name!r}: lidar options need a point_cloud")
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


class TerrainPriorConfig(StrictModel):
    """The coarse terrain prior written beside each training tile (``data/terrain_prior.py``).

    The tile's true ground (DSM - CHM) is block-averaged to a coarse cell drawn per sample
    in ``cell_m``, shifted by a constant bias (std ``offset_std_m``) and a smooth one (std
    ``smooth_bias_std_m``, correlation length ``smooth_bias_length_m``), given per-cell noise
    (``noise_std_m``) and resampled back bilinearly, like a national or global DEM.
    """

    enabled: bool = False
    cell_m: tuple[float, float] = (10.0, 30.0)
    offset_std_m: float = Field(default=2.0, ge=0.0, le=50.0)
    smooth_bias_std_m: float = Field(default=1.5, ge=0.0, le=50.0)
    smooth_bias_length_m: float = Field(default=300.0, gt=0.0, le=100000.0)
    noise_std_m: float = Field(default=0.5, ge=0.0, le=20.0)

    @model_validator(mode="after")
    def _ordered_cells(self) -> TerrainPriorConfig:
        if not 0.0 < self.cell_m[0] <= self.cell_m[1] <= 1000.0:
            raise ValueError(f"cell_m must satisfy 0 < min <= max <= 1000, got {self.cell_m}")
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
    # A degraded copy of each tile's ground, for models with model.params.terrain_prior.
    terrain_prior: TerrainPriorConfig = Field(default_factory=TerrainPriorConfig)
    output_dir: str = "out/prepared"

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> DataConfig:
        if self.overlap_px >= self.tile_size_px:
            raise ValueError(
                f"overlap_px ({self.overlap_px}) must be < tile_size_px ({self.tile_size_px})"
            )
        return self

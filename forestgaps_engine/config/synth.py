"""Synthetic forest generation."""

from __future__ import annotations

from pydantic import Field

from forestgaps_engine.config.base import StrictModel


class SynthConfig(StrictModel):
    """Size, grid and seed of generated forests (one site per seed)."""

    size_px: int = Field(default=1024, ge=32, le=65536)
    resolution_m: float = Field(default=1.0, gt=0.0, le=10.0)
    crs: str = "EPSG:2154"
    seed: int = Field(default=0, ge=0)
    n_sites: int = Field(default=4, ge=1, le=10000)
    nodata_holes: bool = False

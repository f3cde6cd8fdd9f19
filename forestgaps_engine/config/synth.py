"""Synthetic forest generation."""

from __future__ import annotations

from pydantic import Field, field_validator

from forestgaps_engine.config.base import StrictModel


class SynthConfig(StrictModel):
    """Size, grid and seed of generated forests (one site per seed)."""

    size_px: int = Field(default=1024, ge=32, le=65536)
    resolution_m: float = Field(default=1.0, gt=0.0, le=10.0)
    crs: str = "EPSG:2154"
    seed: int = Field(default=0, ge=0)
    n_sites: int = Field(default=4, ge=1, le=10000)
    nodata_holes: bool = False
    # Probability that a stand is open woodland (low, scattered crowns over ground cover);
    # 0 keeps every site exactly as generated before the option existed.
    open_stand_share: float = Field(default=0.0, ge=0.0, le=1.0)
    # Synthetic training sites cycle through these cell sizes (site i: entry i mod n), so
    # a model sees DSMs resampled from coarser and finer grids; empty: all at resolution_m.
    # ``prepare`` warps every site to data.resolution_m (default: resolution_m) unless
    # keep_site_resolutions is true.
    site_resolutions_m: list[float] = Field(default_factory=list, max_length=16)
    # True: with data.resolution_m unset, each site stays on the grid it was generated on,
    # so a model learns DSMs at every cell size of site_resolutions_m as predict sees them
    # inside the card's native_resolutions_m (on their own grid, not warped).
    keep_site_resolutions: bool = False

    @field_validator("site_resolutions_m")
    @classmethod
    def _positive_cells(cls, values: list[float]) -> list[float]:
        for value in values:
            if not 0.0 < value <= 10.0:
                raise ValueError(f"every cell size must lie in (0, 10] m, got {value:g}")
        return values

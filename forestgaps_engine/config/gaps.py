"""Gap definition shared by labels, the classic detector and post-processing."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from forestgaps_engine.config.base import StrictModel


class GapsConfig(StrictModel):
    """ForestGapR semantics: gap cell = height <= threshold, kept if min <= area <= max."""

    thresholds_m: list[float] = Field(default=[2.0, 5.0, 10.0, 15.0, 20.0], min_length=1)
    min_area_m2: float = Field(default=1.0, ge=0.0)
    max_area_m2: float = Field(default=10000.0, gt=0.0)

    @field_validator("thresholds_m")
    @classmethod
    def _positive_sorted_unique(cls, thresholds_m: list[float]) -> list[float]:
        bad = [t for t in thresholds_m if not t > 0]
        if bad:
            raise ValueError(f"thresholds must be > 0 m, got {bad}")
        return sorted(set(thresholds_m))

    @model_validator(mode="after")
    def _area_range(self) -> GapsConfig:
        if self.max_area_m2 < self.min_area_m2:
            raise ValueError(
                f"max_area_m2 ({self.max_area_m2}) must be >= min_area_m2 ({self.min_area_m2})"
            )
        return self

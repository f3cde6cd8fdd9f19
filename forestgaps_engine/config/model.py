"""Which architecture to build; its own parameters are validated by the model registry."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from forestgaps_engine.config.base import StrictModel


def check_native_resolutions(range_m: tuple[float, float], resolution_m: float) -> None:
    """Raise ValueError unless ``0 < min <= resolution_m <= max``.

    ``range_m`` is a model card's ``native_resolutions_m``, around its training cell size.
    """
    finest_m, coarsest_m = range_m
    if not 0.0 < finest_m <= resolution_m <= coarsest_m:
        raise ValueError(
            f"native_resolutions_m must satisfy 0 < min <= training resolution "
            f"({resolution_m:g} m) <= max, got ({finest_m:g}, {coarsest_m:g})"
        )


class ModelConfig(StrictModel):
    """Architecture name from the registry plus its keyword parameters.

    ``params`` stays a plain dict here so loading a config never imports torch; it is
    validated against the architecture's own schema (unknown keys and out-of-range values
    raise ``ModelError`` naming the model, key and value) by
    ``forestgaps_engine.models.validate_params(name, params)`` or when the model is built
    with ``forestgaps_engine.models.create(name, **params)``. ``forestgaps models --json``
    lists every architecture with its default parameters.
    """

    name: str = Field("unet_film_cbam", description="registered model name")
    params: dict[str, Any] = Field(default_factory=dict, description="architecture parameters")
    # Written to the model card: cell sizes (min, max) the trained model predicts on
    # without resampling; set it from a held-out evaluation at several cell sizes
    # (`forestgaps evaluate-heldout`). None: the training resolution alone.
    native_resolutions_m: tuple[float, float] | None = None

    @field_validator("native_resolutions_m")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0.0 < value[0] <= value[1]:
            raise ValueError(f"need 0 < min <= max, got {value}")
        return value

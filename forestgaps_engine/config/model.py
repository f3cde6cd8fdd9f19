"""Which architecture to build; its own parameters are validated by the model registry."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from forestgaps_engine.config.base import StrictModel


class ModelConfig(StrictModel):
    """Architecture name from the registry plus its keyword parameters."""

    name: str = "unet_film_cbam"
    params: dict[str, Any] = Field(default_factory=dict)

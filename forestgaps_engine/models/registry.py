"""The model registry: architectures register under a name with a pydantic parameter schema.

Callers never import an architecture class; they call ``create(name, **params)``, which
validates ``params`` against the architecture's schema and builds the module. Saving a
model therefore needs only ``model.name`` and ``model.config.model_dump()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from torch import nn

from forestgaps_engine.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    """One registered architecture."""

    name: str
    description: str
    config: type[BaseModel]
    builder: type[nn.Module]


_REGISTRY: dict[str, ModelSpec] = {}
# Modules that register an architecture when imported. They are imported on the first
# lookup, not with the package: reading a model card (the QGIS panel, a light install
# without torch) must not import torch.
ARCHITECTURE_MODULES = (
    "deeplabv3plus",
    "fast_scnn",
    "mobile_unet",
    "unet",
    "unet_cbam",
    "unet_film",
    "unet_film_cbam",
    "unet_film_relief",
)


def _import_architectures() -> None:
    for module_name in ARCHITECTURE_MODULES:
        importlib.import_module(f"forestgaps_engine.models.{module_name}")

ModuleType = TypeVar("ModuleType", bound=type[nn.Module])


def register(
    name: str, *, description: str, config: type[BaseModel]
) -> Callable[[ModuleType], ModuleType]:
    """Class decorator adding an architecture to the registry.

    The class is built as ``cls(validated_config)``; ``create`` then sets ``model.name``.

    Args:
        name: registry key (lowercase, used in configs and model files).
        description: one line shown by ``forestgaps models``.
        config: pydantic model of the architecture's parameters (``extra="forbid"``).

    Raises:
        ModelError: ``name`` is already registered by another class.
    """

    def decorator(cls: ModuleType) -> ModuleType:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.builder is not cls:
            raise ModelError(
                f"model name {name!r} is registered twice "
                f"({existing.builder.__qualname__} and {cls.__qualname__})",
                hint="Give the new architecture a different name.",
            )
        _REGISTRY[name] = ModelSpec(name, description, config, cls)
        cls.model_name = name
        return cls

    return decorator


def available_models() -> list[str]:
    """Names of every registered architecture, sorted."""
    _import_architectures()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``.

    Raises:
        ModelError: unknown name; the message lists the available ones.
    """
    _import_architectures()
    spec = _REGISTRY.get(name)
    if spec is None:
        raise ModelError(
            f"unknown model {name!r}; available models: {', '.join(available_models())}",
            hint="Set model.name to one of the available models (see `forestgaps models`).",
        )
    return spec


def validate_params(name: str, params: dict[str, Any] | None = None) -> BaseModel:
    """Validate ``params`` against ``name``'s schema without building the model.

    Raises:
        ModelError: unknown model, unknown key or out-of-range value.
    """
    spec = get_spec(name)
    try:
        return spec.config(**(params or {}))
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(part) for part in item["loc"]) or "<params>"
            if item["type"] == "extra_forbidden":
                problems.append(f"unknown parameter {key!r} (value {item['input']!r})")
            else:
                problems.append(f"parameter {key!r} = {item['input']!r}: {item['msg']}")
        raise ModelError(
            f"model {name!r}: {'; '.join(problems)}. "
            f"Allowed parameters: {', '.join(spec.config.model_fields)}",
            hint="Fix model.params; `forestgaps models --json` shows each model's defaults.",
        ) from error


def create(name: str, **params: Any) -> nn.Module:
    """Build a registered architecture from validated parameters.

    Args:
        name: registered model name.
        **params: architecture parameters; missing ones take the schema defaults.

    Returns:
        The model, with ``model.name`` and ``model.config`` (the validated pydantic params).

    Raises:
        ModelError: unknown model, unknown key or out-of-range value.
    """
    config = validate_params(name, params)
    model = get_spec(name).builder(config)
    model.name = name
    model.config = config
    return model

"""Model zoo: every architecture registers itself; build one with ``create(name, **params)``.

Contract shared with training, inference and export: ``model(dsm (B,1,H,W) normalised,
threshold_m (B*K,) metres) -> logits (B*K,1,H,W)`` for any H, W (K thresholds per
window, window-major); ``model.name`` and
``model.config`` (validated pydantic params) rebuild it with ``create(name, **config)``.

The public names below are imported on first use (PEP 562), so ``models.card`` can be
imported without torch: the QGIS panel reads model cards in a light install.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "available_models": "registry",
    "create": "registry",
    "get_spec": "registry",
    "register": "registry",
    "validate_params": "registry",
    "model_info": "summary",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module_name}"), name)

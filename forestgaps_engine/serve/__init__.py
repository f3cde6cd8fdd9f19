"""REST inference service: ``create_app`` (FastAPI) and ``serve`` (uvicorn).

FastAPI and uvicorn come with the ``serve`` extra; names load on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"create_app": "app", "serve": "runner"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

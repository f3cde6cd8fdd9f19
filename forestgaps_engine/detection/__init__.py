"""One detection, whichever face asks: :func:`detect` decides the route and runs it.

Names load on first use (PEP 562), so the plugin imports the result types at start-up
without pydantic, rasterio or GDAL being installed yet.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "detect": "api",
    "in_extent_words": "api",
    "write_chm": "chm",
    "ExtentOutsideError": "extent",
    "HttpAnswer": "remote",
    "RemoteServer": "remote",
    "Transport": "remote",
    "Unreachable": "remote",
    "DetectionResult": "result",
    "Method": "result",
    "Route": "result",
    "ThresholdOutputs": "result",
    "model_is_available": "routes",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

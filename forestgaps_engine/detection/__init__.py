"""One detection, whichever face asks: :func:`detect` decides the route and runs it.

Names load on first use (PEP 562), so importing the package needs neither pydantic nor
rasterio nor GDAL; the plugin reads the result types from ``detection.result``.
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
    "Unreachable": "remote",
    "model_is_available": "routes",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

"""ForestGaps QGIS plugin: everything that imports qgis or Qt lives in this package.

In the released zip this package is ``forestgaps.plugin`` and the zip's top-level
``__init__.py`` delegates to :func:`classFactory`; modules here use relative imports so they
work under either name. Nothing heavy is imported until QGIS calls :func:`classFactory`.
"""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:  # name fixed by QGIS
    """Entry point QGIS calls: make the engine importable, then build the plugin.

    Args:
        iface: the ``QgisInterface`` of the running QGIS (or a test stub).

    Returns:
        The ``ForestGapsPlugin`` instance QGIS drives through initGui/initProcessing/unload.
    """
    from .deps import ensure_engine_importable

    ensure_engine_importable()
    from .plugin import ForestGapsPlugin

    return ForestGapsPlugin(iface)

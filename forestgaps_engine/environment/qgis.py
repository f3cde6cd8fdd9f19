"""Inside QGIS: the engine is hosted by the plugin; be frugal with threads and workers.

Detection only looks at ``sys.modules``: the engine never imports QGIS itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from forestgaps_engine.environment.base import Environment


class QgisEnvironment(Environment):
    """QGIS process: no data-loader subprocesses, torch threads leave a core to the GUI."""

    name = "qgis"

    def is_active(self) -> bool:
        """Whether QGIS's Python (``qgis.core``) is loaded in this process."""
        return "qgis.core" in sys.modules

    def default_root(self, kind: str) -> Path:
        """``~/forestgaps`` for data and runs alike."""
        return Path.home() / "forestgaps"

    def max_workers(self) -> int:
        """0: data loads in QGIS's own process."""
        # Worker subprocesses would re-import QGIS's Python and its GDAL: keep loading in-process.
        return 0

    def apply_patches(self) -> list[str]:
        """Leave one core to the QGIS interface (torch threads); return what changed."""
        try:
            import torch
        except ImportError:
            return []
        threads = max(1, (os.cpu_count() or 2) - 1)
        torch.set_num_threads(threads)
        return [f"torch threads set to {threads} to keep the QGIS interface responsive"]

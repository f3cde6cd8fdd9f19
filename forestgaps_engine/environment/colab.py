"""Google Colab: Drive-backed storage so runs survive a disconnect, capped workers."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from forestgaps_engine.environment.base import Environment

logger = logging.getLogger(__name__)

DRIVE_MOUNT = Path("/content/drive")
DRIVE_PROJECT = DRIVE_MOUNT / "MyDrive" / "forestgaps"


class ColabEnvironment(Environment):
    """Colab runtime: checkpoints and logs on Drive when it is mounted; 2 to 4 workers."""

    name = "colab"

    def is_active(self) -> bool:
        """Whether this is a Google Colab runtime."""
        return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ

    def _root(self) -> Path:
        # Local /content disappears with the runtime; Drive outlives it.
        return DRIVE_PROJECT if DRIVE_MOUNT.is_dir() else Path("/content/forestgaps")

    def default_root(self, kind: str) -> Path:
        """``data`` or ``runs`` under Drive (or /content)."""
        return self._root() / kind

    def max_workers(self) -> int:
        """Between 2 and 4 loader workers: Colab's few cores are shared with the notebook."""
        return max(2, min(4, os.cpu_count() or 2))

    def apply_patches(self) -> list[str]:
        """Warn when Drive is not mounted, create the storage roots; return what changed."""
        changes = []
        if not DRIVE_MOUNT.is_dir():
            logger.warning(
                "Google Drive is not mounted: checkpoints go to %s and are lost on disconnect; "
                "run drive.mount('/content/drive') first to keep them",
                self._root(),
            )
        for root in (self.data_root(), self.checkpoint_root()):
            root.mkdir(parents=True, exist_ok=True)
            changes.append(f"storage root {root}")
        changes.append(f"data-loader workers capped at {self.max_workers()}")
        return changes

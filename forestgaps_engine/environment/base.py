"""Where the engine runs decides devices, storage roots, worker caps and small patches."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    """The compute device picked for a run and why."""

    name: str  # "cpu", "cuda", "cuda:1", "mps"
    description: str


def detect_best_device(requested: str = "auto") -> DeviceInfo:
    """Resolve ``auto|cpu|cuda|mps`` to an available device, importing torch lazily.

    An explicit request for an unavailable accelerator falls back to CPU with a warning,
    so a config written on a GPU box still runs on a laptop.
    """
    try:
        import torch
    except ImportError:
        return DeviceInfo("cpu", "CPU (torch not installed)")
    has_cuda = torch.cuda.is_available()
    has_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if requested in ("auto", "cuda") and has_cuda:
        return DeviceInfo("cuda", f"CUDA: {torch.cuda.get_device_name(0)}")
    if requested in ("auto", "mps") and has_mps:
        return DeviceInfo("mps", "Apple Metal (MPS)")
    if requested not in ("auto", "cpu"):
        logger.warning("device %r is not available here; using the CPU", requested)
    return DeviceInfo("cpu", f"CPU ({os.cpu_count()} logical cores)")


class Environment:
    """Base environment: a local machine. Subclasses override what differs.

    Attributes:
        name: short identifier shown by ``forestgaps info``.
    """

    name = "local"

    def is_active(self) -> bool:
        """Whether the process is running in this environment."""
        return True

    def default_root(self, kind: str) -> Path:
        """Where ``kind`` (``data`` or ``runs``) goes when no environment variable says."""
        return Path("out")

    def data_root(self) -> Path:
        """``FORESTGAPS_DATA_ROOT``, else ``default_root("data")`` (prepared shards, sites)."""
        return Path(os.environ.get("FORESTGAPS_DATA_ROOT", self.default_root("data")))

    def checkpoint_root(self) -> Path:
        """``FORESTGAPS_CHECKPOINT_ROOT``, else ``default_root("runs")`` (checkpoints, logs)."""
        return Path(os.environ.get("FORESTGAPS_CHECKPOINT_ROOT", self.default_root("runs")))

    def max_workers(self) -> int:
        """Upper bound on data-loader workers."""
        return max(1, min(8, (os.cpu_count() or 1)))

    def device(self, requested: str = "auto") -> DeviceInfo:
        """Device for compute in this environment."""
        return detect_best_device(requested)

    def apply_patches(self) -> list[str]:
        """Apply environment-specific adjustments; returns what was changed (for the log)."""
        return []

    def describe(self) -> dict[str, str]:
        """Plain facts for ``forestgaps info`` and logs."""
        return {
            "environment": self.name,
            "data_root": str(self.data_root()),
            "checkpoint_root": str(self.checkpoint_root()),
            "max_workers": str(self.max_workers()),
        }

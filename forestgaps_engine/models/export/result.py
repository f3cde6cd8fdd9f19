"""What an export hands back: the file and how closely it matches eager PyTorch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ExportResult:
    """One exported model.

    Attributes:
        path: the exported file or folder.
        format: ``onnx``, ``torchscript`` or ``native``.
        parity: max absolute probability difference to eager PyTorch per input size
            (``"BxHxW"`` -> value), or None when not checked.
    """

    path: Path
    format: str
    parity: dict[str, float] | None = None

    @property
    def max_abs_diff(self) -> float | None:
        """Worst difference over all checked sizes."""
        return max(self.parity.values()) if self.parity else None

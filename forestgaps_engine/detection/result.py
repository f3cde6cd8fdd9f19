"""What one detection wrote, whichever route ran (model here, model on a server, classic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Method = Literal["model", "classic"]
Route = Literal["auto", "model", "classic"]
ROUTES: tuple[Route, ...] = ("auto", "model", "classic")


@dataclass(frozen=True)
class ThresholdOutputs:
    """Files and figures of one threshold (areas in m², fraction of valid area 0..1)."""

    threshold_m: float
    polygons_path: Path
    n_gaps: int
    total_gap_area_m2: float
    gap_fraction: float
    probability_path: Path | None = None
    mask_path: Path | None = None
    gap_ids_path: Path | None = None
    stats_path: Path | None = None


@dataclass(frozen=True)
class DetectionResult:
    """What a successful detection wrote.

    Attributes:
        method: "model" (here or on a server) or "classic" (ForestGapR rule on a CHM).
        out_dir: the output folder.
        thresholds: one entry per threshold, ascending.
        summary_path: the run's ``summary.json``.
        notes: sentences worth showing the user (fallback taken, agreement with the CHM).
        clipped_size_px: (width, height) of the DSM cut to ``extent``; None when uncut.
        server_url: the server that predicted, None when the model ran here.
    """

    method: Method
    out_dir: Path
    thresholds: tuple[ThresholdOutputs, ...]
    summary_path: Path
    notes: tuple[str, ...] = field(default=())
    clipped_size_px: tuple[int, int] | None = None
    server_url: str | None = None

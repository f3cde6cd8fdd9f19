"""``InferenceParams``: everything one gap-detection run needs, as a frozen value.

Pure Python (no Qt, no engine import) so it is built and checked anywhere; the dock
fills it from its widgets, the task reads it on a worker thread.
"""

from __future__ import annotations

import math
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_MODEL = "default"
DEFAULT_THRESHOLDS_M = (2.0, 5.0, 10.0)
ExtentMode = Literal["layer", "canvas", "polygon"]
ReferenceKind = Literal["chm", "dtm"]
Device = Literal["auto", "cpu", "cuda"]
EXTENT_MODES: tuple[ExtentMode, ...] = ("layer", "canvas", "polygon")
REFERENCE_KINDS: tuple[ReferenceKind, ...] = ("chm", "dtm")
DEVICES: tuple[Device, ...] = ("auto", "cpu", "cuda")
# Bounds shared with the engine's InferenceConfig (tile 32..8192, overlap < tile / 2).
MIN_TILE_SIZE_PX = 32
MAX_TILE_SIZE_PX = 8192
MAX_BATCH_SIZE = 1024
# The engine's InferenceConfig defaults (a test in tests/plugin/test_plugin_dock.py keeps
# them equal): the dock and the Processing algorithm run the windows the docs measure.
DEFAULT_TILE_SIZE_PX = 512
DEFAULT_OVERLAP_PX = 64
DEFAULT_BATCH_SIZE = 8
DEFAULT_MIN_GAP_AREA_M2 = 4.0
# 0: no upper bound (the engine's default; ForestGapR's getForestGaps uses 10000 m²).
NO_MAX_GAP_AREA_M2 = 0.0


@dataclass(frozen=True)
class InferenceParams:
    """One run of the dock.

    Attributes:
        dsm_path: single-band DSM file, metres.
        dsm_layer_id: id of the DSM layer in the project ("" when run from a path).
        dsm_name: display name of the DSM, used to name the result group.
        reference_path: optional CHM or DTM file (enables the classic detector).
        reference_kind: "chm" or "dtm", what ``reference_path`` holds.
        terrain_prior_path: optional coarse DEM file ("Coarse terrain (DEM)") for a model
            trained with a terrain prior.
        thresholds_m: gap height thresholds, metres, > 0.
        model: model folder/file or "default" (the bundled model).
        extent_mode: "layer" (whole DSM), "canvas" (map extent) or "polygon" (a layer's
            bounding box).
        extent: (xmin, ymin, xmax, ymax) in the DSM's CRS for "canvas"/"polygon", else None.
        device: "auto", "cpu" or "cuda".
        tile_size_px: prediction window, pixels.
        overlap_px: overlap between windows, pixels (< tile_size_px / 2).
        batch_size: windows per forward pass.
        min_gap_area_m2: smaller gaps are dropped, m².
        max_gap_area_m2: larger gaps are dropped, m²; 0 means no upper bound.
        output_dir: output folder, or None for a new temporary folder.
        crs_override: CRS QGIS uses for the DSM when the file has none (EPSG id or WKT).
        server_url: base URL of a ForestGaps server (``forestgaps serve``) that runs the
            model instead of this computer, e.g. ``http://127.0.0.1:8000``; None: local.
        server_authcfg: id of the QGIS authentication configuration holding the server's
            bearer token ("Server token"); None: no token is sent.
    """

    dsm_path: str
    dsm_layer_id: str = ""
    dsm_name: str = ""
    reference_path: str | None = None
    reference_kind: ReferenceKind = "chm"
    terrain_prior_path: str | None = None
    thresholds_m: tuple[float, ...] = DEFAULT_THRESHOLDS_M
    model: str = DEFAULT_MODEL
    extent_mode: ExtentMode = "layer"
    extent: tuple[float, float, float, float] | None = None
    device: Device = "auto"
    tile_size_px: int = DEFAULT_TILE_SIZE_PX
    overlap_px: int = DEFAULT_OVERLAP_PX
    batch_size: int = DEFAULT_BATCH_SIZE
    min_gap_area_m2: float = DEFAULT_MIN_GAP_AREA_M2
    max_gap_area_m2: float = NO_MAX_GAP_AREA_M2
    output_dir: str | None = None
    crs_override: str | None = None
    server_url: str | None = None
    server_authcfg: str | None = None

    @property
    def display_name(self) -> str:
        """The DSM's layer name, else its file stem."""
        return self.dsm_name or Path(self.dsm_path).stem

    def problems(self) -> list[str]:
        """Every reason this run cannot start, each a sentence naming the value and the fix.

        Returns:
            Empty when the parameters are usable.
        """
        found: list[str] = []
        if not self.dsm_path:
            found.append("No DSM layer is selected; pick a single-band height raster.")
        elif not Path(self.dsm_path).is_file():
            found.append(
                f"DSM {self.dsm_path!r} is not a file on disk; save the layer as a GeoTIFF."
            )
        if self.reference_path is not None and not Path(self.reference_path).is_file():
            found.append(
                f"{self.reference_kind.upper()} {self.reference_path!r} is not a file on "
                "disk; save the layer as a GeoTIFF or clear the selection."
            )
        if self.terrain_prior_path is not None and not Path(self.terrain_prior_path).is_file():
            found.append(
                f"Coarse terrain (DEM) {self.terrain_prior_path!r} is not a file on disk; "
                "save the layer as a GeoTIFF or clear the selection."
            )
        if self.reference_kind not in REFERENCE_KINDS:
            found.append(f"Reference kind {self.reference_kind!r} is not one of chm, dtm.")
        found.extend(_threshold_problems(self.thresholds_m))
        if not self.model:
            found.append('No model is selected; choose "default" or browse to a model folder.')
        found.extend(self._extent_problems())
        if self.device not in DEVICES:
            found.append(f"Device {self.device!r} is not one of {', '.join(DEVICES)}.")
        found.extend(self._tiling_problems())
        if self.server_url is not None:
            found.extend(server_url_problems(self.server_url))
        if not (math.isfinite(self.min_gap_area_m2) and self.min_gap_area_m2 >= 0):
            found.append(f"Minimum gap area {self.min_gap_area_m2!r} m² must be 0 or more.")
        found.extend(self._max_area_problems())
        if self.output_dir is not None:
            folder = Path(self.output_dir)
            if folder.exists() and not folder.is_dir():
                found.append(f"Output {self.output_dir!r} is a file; choose a folder.")
        return found

    def _max_area_problems(self) -> list[str]:
        maximum_m2 = self.max_gap_area_m2
        if not (math.isfinite(maximum_m2) and maximum_m2 >= 0):
            return [f"Maximum gap area {maximum_m2!r} m² must be 0 (no limit) or more."]
        if 0 < maximum_m2 < self.min_gap_area_m2:
            return [
                f"Maximum gap area {maximum_m2:g} m² is below the minimum "
                f"{self.min_gap_area_m2:g} m²; raise it, or set 0 for no limit."
            ]
        return []

    def _extent_problems(self) -> list[str]:
        if self.extent_mode not in EXTENT_MODES:
            return [f"Extent mode {self.extent_mode!r} is not one of {', '.join(EXTENT_MODES)}."]
        if self.extent_mode == "layer":
            return []
        if self.extent is None:
            return [f"Extent mode {self.extent_mode!r} needs an extent; none was given."]
        xmin, ymin, xmax, ymax = self.extent
        if not all(math.isfinite(v) for v in self.extent) or xmin >= xmax or ymin >= ymax:
            return [
                f"Extent {self.extent} is empty or invalid; zoom to the forest or pick "
                "another polygon layer."
            ]
        return []

    def _tiling_problems(self) -> list[str]:
        found = []
        if not MIN_TILE_SIZE_PX <= self.tile_size_px <= MAX_TILE_SIZE_PX:
            found.append(
                f"Tile size {self.tile_size_px} px must lie in "
                f"{MIN_TILE_SIZE_PX}..{MAX_TILE_SIZE_PX} px."
            )
        if self.overlap_px < 0 or 2 * self.overlap_px >= self.tile_size_px:
            found.append(
                f"Overlap {self.overlap_px} px must be >= 0 and below half the tile size "
                f"({self.tile_size_px / 2:g} px)."
            )
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            found.append(f"Batch size {self.batch_size} must lie in 1..{MAX_BATCH_SIZE}.")
        return found


def _threshold_problems(thresholds_m: tuple[float, ...]) -> list[str]:
    if not thresholds_m:
        return ["No threshold is listed; add at least one height in metres (e.g. 5)."]
    bad = [
        t for t in thresholds_m if not (isinstance(t, int | float) and math.isfinite(t) and t > 0)
    ]
    if bad:
        return [f"Thresholds {bad} are not positive heights in metres; remove them."]
    return []


def server_url_problems(url: str) -> list[str]:
    """Why ``url`` is not a usable server base URL (http/https, a host, no query)."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        return [
            f"Server URL {url!r} is not an http(s) address; use e.g. http://127.0.0.1:8000 "
            "or clear it to run on this computer."
        ]
    if parts.query or parts.fragment:
        return [f"Server URL {url!r} has a query or fragment; give the server's base address."]
    return []


def parse_thresholds(text: str) -> tuple[float, ...]:
    """``"2, 5;10"`` -> ``(2.0, 5.0, 10.0)``, sorted, duplicates removed.

    Raises:
        ValueError: a part is not a number (the message names it).
    """
    values = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise ValueError(f"threshold {part.strip()!r} is not a number of metres") from None
    return tuple(sorted(set(values)))


def thresholds_outside(
    thresholds_m: tuple[float, ...], range_m: tuple[float, float]
) -> tuple[float, ...]:
    """Thresholds outside a model's trained range (none when the range is unknown: 0..0)."""
    low_m, high_m = range_m
    if high_m <= 0:
        return ()
    return tuple(t for t in thresholds_m if not low_m <= t <= high_m)

"""Where the int8 OpenVINO model of a model comes from, and the windows it is calibrated on.

An int8 model (``models.export.quantize``) is looked for in this order:

1. ``model_int8.xml`` beside the weights, written by ``forestgaps export MODEL --format
   openvino_int8 --out MODEL/model_int8.xml`` (calibrated on synthetic and real windows);
2. the cache (``FORESTGAPS_CACHE_DIR/openvino_int8/<architecture>-<model id>.xml``),
   quantised there on first use on synthetic windows only (about a minute on two cores).

Either is used only when its ``model_int8.json`` names the model's own weights hash, so a
retrained model never runs a stale int8 graph.

Calibration windows: ``SYNTH_SITES`` synthetic forests (``synth.forest``, one closed and
one half open) cut into ``tile_px`` windows; ``AUTO_TILES`` tiles drawn like ``--backend
auto``'s parity tiles but from another seed (``AUTO_TILES_SEED``), so the int8 model is
calibrated on that kind of surface too while auto's own tiles stay unseen; and, when a
real-site config is given and its data are present, up to ``real_per_site`` windows of
every real site it lists (``data.real_sites``, built into ``sites_dir``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.errors import ForestGapsError
from forestgaps_engine.files import cache_dir as cache_root
from forestgaps_engine.files import ensure_writable_dir, read_json_mapping
from forestgaps_engine.models.export.quantize import (
    INT8_XML,
    CalibrationWindows,
    quantize_int8,
    record_path,
)

logger = logging.getLogger(__name__)

# (seed, share of open stands): a closed and a half-open forest, as the default model's recipe.
SYNTH_SITES = ((0, 0.0), (1, 0.5))
SYNTH_SITE_PX = 256
WINDOW_PX = 128
REAL_PER_SITE = 2
# Forest-only calibration missed auto's tiles (gap IoU loss 0.028 for the default model):
# their plateau heights and disk gaps lie outside the forests' activation ranges.
AUTO_TILES = 4
AUTO_TILES_SEED = 1


def synthetic_windows(
    resolution_m: float, tile_px: int | None = None, site_px: int | None = None
) -> np.ndarray:
    """(n, 1, tile_px, tile_px) float32 DSM windows, metres, of ``SYNTH_SITES`` forests.

    ``tile_px`` and ``site_px`` default to ``WINDOW_PX`` and ``SYNTH_SITE_PX``, read at call
    time (tests shrink them).
    """
    from forestgaps_engine.synth.forest import generate_forest

    tile_px = tile_px or WINDOW_PX
    site_px = site_px or SYNTH_SITE_PX
    windows = []
    for seed, open_share in SYNTH_SITES:
        forest = generate_forest(
            site_px, resolution_m, "EPSG:2154", seed, open_stand_share=open_share
        )
        dsm = forest.dsm_m.astype(np.float32)
        for row in range(0, site_px - tile_px + 1, tile_px):
            for col in range(0, site_px - tile_px + 1, tile_px):
                windows.append(dsm[row : row + tile_px, col : col + tile_px])
    return np.stack(windows)[:, None]


def real_site_windows(
    config_path: str | Path,
    sites_dir: str | Path,
    tile_px: int = WINDOW_PX,
    per_site: int = REAL_PER_SITE,
) -> tuple[np.ndarray | None, list[str]]:
    """Windows of each real site of a corpus config whose data are present.

    A site smaller than a window is padded with nodata; a site whose files are missing or
    cannot be built is passed over (logged).

    Returns:
        (n, 1, tile_px, tile_px) float32 metres, NaN at nodata (None when no site could be
        built), and the names of the sites used.
    """
    from forestgaps_engine.config import load_config
    from forestgaps_engine.data.real_sites.builder import build_real_site, is_real_site
    from forestgaps_engine.data.sites import load_raster_site
    from forestgaps_engine.progress import Reporter

    config = load_config(config_path)
    folder = ensure_writable_dir(sites_dir)
    windows, names = [], []
    for site in config.data.sites:
        load = build_real_site if is_real_site(site) else load_raster_site
        try:
            rasters = load(site, None, folder, Reporter(None, None))
        except (ForestGapsError, OSError) as error:
            logger.info("int8 calibration: real site %s passed over (%s)", site.name, error)
            continue
        values = np.where(rasters.dsm.valid, rasters.dsm.values, np.nan).astype(np.float32)
        windows.extend(_cut(values, tile_px, per_site))
        names.append(site.name)
    if not windows:
        return None, names
    return np.stack(windows)[:, None], names


def _cut(values: np.ndarray, tile_px: int, count: int) -> list[np.ndarray]:
    """Up to ``count`` windows along the diagonal of ``values``, padded with NaN."""
    height, width = values.shape
    padded = np.full((max(height, tile_px), max(width, tile_px)), np.nan, dtype=np.float32)
    padded[:height, :width] = values
    rows = np.linspace(0, padded.shape[0] - tile_px, count).astype(int)
    cols = np.linspace(0, padded.shape[1] - tile_px, count).astype(int)
    return [padded[r : r + tile_px, c : c + tile_px] for r, c in zip(rows, cols, strict=True)]


def calibration_windows(
    model: Any,
    real_sites_config: str | Path | None = None,
    sites_dir: str | Path | None = None,
    thresholds_m: Sequence[float] | None = None,
) -> CalibrationWindows:
    """Normalized synthetic (and real, when present) windows for ``quantize_int8``.

    Args:
        model: ``InferenceModel`` (its card and normalizer).
        real_sites_config: a corpus config (``configs/real_sites.yaml``); None: synthetic only.
        sites_dir: where real clouds are rasterized (default: a ``real_sites`` cache folder).
        thresholds_m: default: the calibration thresholds of ``--backend auto``.
    """
    from forestgaps_engine.inference.calibration import _thresholds_for, calibration_tiles

    forests = synthetic_windows(model.card.resolution_m)
    tiles, _ = calibration_tiles(AUTO_TILES, forests.shape[-1], seed=AUTO_TILES_SEED)
    raw = np.concatenate([forests, tiles])
    sources: dict[str, Any] = {"synthetic": int(len(raw)), "real": 0, "real_sites": []}
    if real_sites_config is not None:
        real, names = real_site_windows(real_sites_config, sites_dir or cache_root() / "real_sites")
        if real is not None:
            raw = np.concatenate([raw, real])
            sources.update({"real": int(len(real)), "real_sites": names})
    valid = np.isfinite(raw)
    thresholds = thresholds_m if thresholds_m is not None else _thresholds_for(model.card)
    return CalibrationWindows(
        inputs=np.ascontiguousarray(model.normalizer(raw, valid), dtype=np.float32),
        valid=valid,
        thresholds_m=tuple(float(t) for t in thresholds),
        sources=sources,
    )


def int8_record(xml_path: Path) -> dict[str, Any] | None:
    """The ``model_int8.json`` of an IR, None when missing or unreadable."""
    return read_json_mapping(record_path(xml_path)) or None


def existing_int8_path(model: Any, cache_dir: str | Path | None = None) -> Path | None:
    """The shipped or cached int8 IR of ``model`` (see the module docstring), or None."""
    model_id = model.card.model_id or ""
    for candidate in (Path(model.path) / INT8_XML, cache_path(model, cache_dir)):
        # The IR's .xml and .bin, and a record naming these weights.
        has_files = candidate.is_file() and candidate.with_suffix(".bin").is_file()
        record = int8_record(candidate) if has_files and model_id else None
        if record is not None and record.get("model_id") == model_id:
            return candidate
    return None


def cache_path(model: Any, cache_dir: str | Path | None = None) -> Path:
    """Where ``int8_path`` keeps a lazily quantised IR."""
    root = Path(cache_dir) if cache_dir else cache_root()
    model_id = model.card.model_id or "unhashed"
    return root / "openvino_int8" / f"{model.card.architecture}-{model_id}.xml"


def int8_path(model: Any, cache_dir: str | Path | None = None) -> Path:
    """The int8 IR of ``model``, quantised into the cache on synthetic windows if missing.

    Raises:
        InferenceError: NNCF/OpenVINO missing, or no weights to quantise from.
        ModelError: quantisation failed or missed parity.
    """
    import tempfile

    from forestgaps_engine.errors import InferenceError
    from forestgaps_engine.inference.backends import export_onnx

    found = existing_int8_path(model, cache_dir)
    if found is not None:
        return found
    if model.loaded is None:
        raise InferenceError(
            f"{model.path}: no model_int8.xml for this model, and quantising one needs "
            "PyTorch and the weights",
            hint="Run `forestgaps export MODEL --format openvino_int8` where torch is "
            "installed, or use --backend openvino_bf16/openvino.",
        )
    target = cache_path(model, cache_dir)
    logger.info("quantising the model to int8 (synthetic windows): %s", target)
    # Always the bare logits graph: a shipped model.onnx may return probabilities.
    with tempfile.TemporaryDirectory(prefix="forestgaps-int8-") as folder:
        onnx_path = Path(folder) / "model.onnx"
        network = model.loaded.model
        # The int8 graph is the card's cell size, whatever the module ran at last.
        in_metres = getattr(network, "uses_cell_size", False)
        export_onnx(network, onnx_path, float(model.card.resolution_m) if in_metres else None)
        quantize_int8(model.loaded, onnx_path, calibration_windows(model), target)
    return target

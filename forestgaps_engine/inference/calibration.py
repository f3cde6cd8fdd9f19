"""``--backend auto``: pick and cache the fastest backend whose gap masks are right.

Each available backend is timed on synthetic DSM tiles; the fastest whose gap masks agree
with the reference (PyTorch fp32 when installed) wins.

The cache (``backend_calibration.json`` in ``FORESTGAPS_CACHE_DIR`` or
``~/.cache/forestgaps``) is keyed by model id, device, CPU model and the installed runtime
versions, so a new model, machine or runtime calibrates again, and nothing else does.
Agreement is ``1 - IoU`` of the gap masks (probability >= cut-off) over the calibration
tiles; a backend losing more than ``MAX_IOU_LOSS`` (bf16 on some models) is never chosen.
The int8 OpenVINO model is a candidate once it exists (``inference.int8``) and is held to
the same test.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.errors import ForestGapsError
from forestgaps_engine.files import cache_dir as cache_root
from forestgaps_engine.files import read_json_mapping, store_in_json_cache
from forestgaps_engine.inference.backends import Backend, available_backends, build_backend
from forestgaps_engine.machine import cpu_name
from forestgaps_engine.metrics.pixel import confusion_counts

# One bar for every backend, the int8 quantiser's included.
from forestgaps_engine.models.export.quantize import MAX_IOU_LOSS

logger = logging.getLogger(__name__)

CACHE_FILE = "backend_calibration.json"
CALIBRATION_TILES = 4
CALIBRATION_TILE_PX = 128
REPEATS = 2
CUTOFF = 0.5


def calibration_tiles(
    n_tiles: int = CALIBRATION_TILES, tile_px: int = CALIBRATION_TILE_PX, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic DSM windows: crowns on a plateau, low gaps, a little nodata.

    Returns:
        (n, 1, tile_px, tile_px) float32 metres (NaN at nodata) and the valid mask.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(tile_px, dtype=np.float32)[:, None]
    cols = np.arange(tile_px, dtype=np.float32)[None, :]
    tiles = []
    for _ in range(n_tiles):
        phase = rng.uniform(0, 6.28, 2).astype(np.float32)
        heights = 18.0 + 6.0 * np.sin(rows / 5.0 + phase[0]) * np.cos(cols / 7.0 + phase[1])
        heights = heights + rng.normal(0, 1.0, (tile_px, tile_px)).astype(np.float32)
        for _ in range(6):
            r, c = rng.integers(0, tile_px, 2)
            radius = int(rng.integers(3, max(4, tile_px // 8)))
            heights[(rows - r) ** 2 + (cols - c) ** 2 <= radius**2] = rng.uniform(0.5, 6.0)
        heights = heights + np.float32(rng.uniform(100.0, 600.0))
        heights[: int(rng.integers(0, 4)), :] = np.nan
        tiles.append(heights.astype(np.float32))
    values = np.stack(tiles)[:, None]
    return values, np.isfinite(values)


def cache_key(model_id: str, device: str) -> str:
    """Model, device, CPU and runtime versions: what a calibration result depends on."""
    versions = []
    for package in ("torch", "onnxruntime", "openvino", "nncf"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return "|".join([model_id or "unhashed", device, cpu_name(), *versions])


def _run(backend: Backend, raw: np.ndarray, valid: np.ndarray, normalized: np.ndarray,
         thresholds: np.ndarray) -> np.ndarray:  # fmt: skip
    """Run the windows as ``predict`` does.

    Once for all thresholds when the backend shares windows, repeated per threshold
    otherwise.
    """
    repeats = 1 if getattr(backend, "shares_windows", False) else len(thresholds) // len(raw)
    valid = np.repeat(valid, repeats, axis=0)
    if getattr(backend, "takes_raw_heights", False):
        return backend.run(np.repeat(raw, repeats, axis=0), thresholds, valid)
    return backend.run(np.repeat(normalized, repeats, axis=0), thresholds)


def calibrate(
    factories: dict[str, Callable[[], Backend]],
    reference: str,
    normalizer: Callable[[np.ndarray, np.ndarray], np.ndarray],
    thresholds_m: list[float],
    cutoff: float = CUTOFF,
    repeats: int = REPEATS,
    tiles: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Speed and agreement of each backend; the choice.

    Args:
        factories: backend name -> builder (built lazily; a builder may raise).
        reference: name of the backend the others must agree with (in ``factories``).
        normalizer: NumPy normalization (raw metres, valid) -> model input.
        thresholds_m: thresholds each tile is run with, metres.
        cutoff: probability cut of the gap masks compared.
        repeats: timed calls per backend (the fastest counts).
        tiles: (raw, valid) windows; default ``calibration_tiles()``.

    Returns:
        ``{"reference", "chosen", "max_iou_loss", "backends": {name: {"mpix_per_s",
        "gap_iou_loss", "agrees"} or {"error"}}}``.
    """
    raw, valid = tiles if tiles is not None else calibration_tiles()
    n_thresholds = len(thresholds_m)
    valid_batch = np.repeat(valid, n_thresholds, axis=0)
    normalized = normalizer(raw, valid)
    thresholds = np.tile(np.asarray(thresholds_m, dtype=np.float32), len(raw))
    # Output pixels (window x threshold), whatever a backend computes to produce them.
    n_mpix = valid_batch.shape[0] * valid_batch.shape[2] * valid_batch.shape[3] / 1e6
    figures: dict[str, dict[str, Any]] = {}
    masks: dict[str, np.ndarray] = {}
    for name in [reference, *[n for n in factories if n != reference]]:
        try:
            backend = factories[name]()
            _run(backend, raw, valid, normalized, thresholds)  # warm-up
            best_s = float("inf")
            for _ in range(repeats):
                started = time.perf_counter()
                probabilities = _run(backend, raw, valid, normalized, thresholds)
                best_s = min(best_s, time.perf_counter() - started)
        except (ForestGapsError, ImportError, RuntimeError, OSError) as error:
            figures[name] = {"error": f"{type(error).__name__}: {error}"}
            continue
        masks[name] = (probabilities >= cutoff) & valid_batch
        # The reference agrees with itself: IoU 1, loss 0.
        loss = 1.0 - confusion_counts(masks[name], masks[reference]).iou
        figures[name] = {
            "mpix_per_s": round(n_mpix / max(best_s, 1e-9), 4),
            "gap_iou_loss": round(loss, 6),
            "agrees": loss <= MAX_IOU_LOSS,
        }
        if reference not in masks:
            break
    candidates = [n for n, f in figures.items() if f.get("agrees")]
    chosen = max(candidates, key=lambda n: figures[n]["mpix_per_s"]) if candidates else None
    return {
        "reference": reference,
        "chosen": chosen,
        "max_iou_loss": MAX_IOU_LOSS,
        "tiles": [int(s) for s in raw.shape],
        "thresholds_m": [float(t) for t in thresholds_m],
        "backends": figures,
    }


def _thresholds_for(card: Any) -> list[float]:
    low_m, high_m = card.threshold_range_m
    if high_m > 0:
        return sorted({float(low_m), float(low_m + high_m) / 2.0, float(high_m)})
    return [2.0, 5.0, 10.0]


def choose_backend(
    model: Any,
    device: str,
    cache_dir: str | Path | None = None,
    calibration: dict[str, Any] | None = None,
) -> Backend:
    """The backend ``auto`` stands for, calibrating on first use and caching the result.

    Args:
        model: ``InferenceModel``.
        device: resolved device name.
        cache_dir: cache root (None: ``FORESTGAPS_CACHE_DIR`` or ``~/.cache/forestgaps``).
        calibration: dict updated with the figures and whether they came from the cache.
    """
    names = available_backends(model, device)
    if len(names) == 1:
        if calibration is not None:
            calibration.update({"chosen": names[0], "reason": "only backend available"})
        return build_backend(names[0], model, device, cache_dir)
    cache_path = (Path(cache_dir) if cache_dir else cache_root()) / CACHE_FILE
    model_id = getattr(model.card, "model_id", "")
    # The candidates belong to the key: an int8 model exported later is calibrated then.
    key = cache_key(model_id, device) + "|" + ",".join(names)
    # Without a weights hash two models would share an entry: calibrate every time.
    entry = read_json_mapping(cache_path).get(key) if model_id else None
    if entry and entry.get("chosen") in names:
        try:
            backend = build_backend(entry["chosen"], model, device, cache_dir)
        except (ForestGapsError, ImportError, RuntimeError) as error:
            logger.info(
                "cached backend %s unusable (%s); calibrating again", entry["chosen"], error
            )
        else:
            if calibration is not None:
                calibration.update({**entry, "cached": True})
            logger.info("backend %s (calibration cached in %s)", entry["chosen"], cache_path)
            return backend
    built: dict[str, Backend] = {}

    def build(name: str) -> Backend:
        built[name] = build_backend(name, model, device, cache_dir)
        return built[name]

    entry = calibrate(
        {name: functools.partial(build, name) for name in names},
        names[0],
        model.normalizer,
        _thresholds_for(model.card),
    )
    if entry["chosen"] is None:
        entry["chosen"] = names[0]
    store_in_json_cache(cache_path, key, entry)
    logger.info(
        "backend calibration: %s -> %s",
        ", ".join(
            f"{name} {fig.get('mpix_per_s', 'n/a')} MPix/s loss {fig.get('gap_iou_loss', 'n/a')}"
            for name, fig in entry["backends"].items()
        ),
        entry["chosen"],
    )
    if calibration is not None:
        calibration.update({**entry, "cached": False})
    return built.get(entry["chosen"]) or build_backend(entry["chosen"], model, device, cache_dir)

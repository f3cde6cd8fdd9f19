"""Parity: an exported model must give the probabilities eager PyTorch gives.

Inputs are random but realistic: raw heights at a site altitude with canopy relief, some
invalid cells (a few of them NaN, as ``read_band`` returns nodata), and thresholds drawn
within the card's range. The reference is the same ``ExportGraph`` run eagerly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.card import load_model
from forestgaps_engine.models.export.graph import (
    GRAPH_METADATA_KEY,
    GraphSpec,
    build_graph,
)

DEFAULT_SIZES: tuple[tuple[int, int, int], ...] = ((1, 64, 64), (2, 96, 80))
FALLBACK_THRESHOLD_RANGE_M = (2.0, 20.0)
INVALID_FRACTION = 0.1
DEEPNESS_BATCHES = (1, 2)
# Max absolute probability difference an export may show.
PARITY_TOLERANCE = 1e-4


def threshold_range_m(card: Any) -> tuple[float, float]:
    """(low, high) thresholds to test: the card's range, else its thresholds, else 2..20 m."""
    low, high = card.threshold_range_m
    if high > low:
        return float(low), float(high)
    if card.thresholds_m:
        low, high = min(card.thresholds_m), max(card.thresholds_m)
        return (float(low), float(high)) if high > low else (float(low), float(low) + 1.0)
    return FALLBACK_THRESHOLD_RANGE_M


def random_inputs(
    spec: GraphSpec,
    batch: int,
    height_px: int,
    width_px: int,
    card: Any,
    seed: int = 0,
    thresholds_per_window: int = 1,
) -> list[np.ndarray]:
    """Inputs in ``spec.input_names`` order, float32.

    Shape:
        dsm ``(B, 1, H, W)``: metres (altitude 200-400 m plus 0-40 m of canopy), or
        standard-normal values for a normalized-input graph; valid ``(B, 1, H, W)`` 0/1
        with about 10 % invalid cells; threshold_m ``(B * K,)`` within the card's range
        (K = ``thresholds_per_window``).
    """
    rng = np.random.default_rng(seed)
    shape = (batch, 1, height_px, width_px)
    is_valid = rng.random(shape) >= INVALID_FRACTION
    if spec.include_normalization:
        altitude_m = rng.uniform(200.0, 400.0, size=(batch, 1, 1, 1))
        dsm = altitude_m + rng.uniform(0.0, 40.0, size=shape)
        # half the invalid cells hold NaN, as rasters read with nodata do
        dsm[~is_valid & (rng.random(shape) < 0.5)] = np.nan
    else:
        dsm = rng.standard_normal(shape)
    inputs = [dsm.astype(np.float32)]
    if spec.has_valid_input:
        inputs.append(is_valid.astype(np.float32))
    if spec.fixed_threshold_m is None:
        low, high = threshold_range_m(card)
        n_thresholds = batch * thresholds_per_window
        inputs.append(rng.uniform(low, high, size=n_thresholds).astype(np.float32))
    return inputs


def _eager(graph: Any, inputs: Sequence[np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return graph(*(torch.from_numpy(array) for array in inputs)).numpy()


def _onnx_runner(path: Path) -> tuple[Any, GraphSpec]:
    try:
        import onnxruntime
    except ImportError as error:
        raise ModelError(
            "onnxruntime is not installed: cannot check the ONNX export",
            hint="pip install onnxruntime, or export with check=False (--no-check).",
        ) from error
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types
        raise ModelError(
            f"{path}: ONNX Runtime cannot load the graph ({error})",
            hint="Export it again with `forestgaps export`.",
        ) from error
    metadata = session.get_modelmeta().custom_metadata_map
    if GRAPH_METADATA_KEY not in metadata:
        raise ModelError(
            f"{path}: no {GRAPH_METADATA_KEY!r} metadata (not a ForestGaps export)",
            hint="Export it with `forestgaps export MODEL --format onnx`.",
        )
    spec = GraphSpec.from_json(metadata[GRAPH_METADATA_KEY])

    def run(inputs: Sequence[np.ndarray]) -> np.ndarray:
        feed = dict(zip(spec.input_names, inputs, strict=True))
        return session.run([spec.output_name], feed)[0]

    return run, spec


def _torchscript_runner(path: Path) -> tuple[Any, GraphSpec]:
    from forestgaps_engine.models.export.torchscript import load_torchscript

    module, _card, spec = load_torchscript(path)

    def run(inputs: Sequence[np.ndarray]) -> np.ndarray:
        # the profiling executor would spend seconds specializing on every new shape
        with torch.no_grad(), torch.jit.optimized_execution(False):
            return module(*(torch.from_numpy(array) for array in inputs)).numpy()

    return run, spec


def _native_runner(path: Path) -> tuple[Any, GraphSpec]:
    spec = GraphSpec(shares_windows=True)
    graph = build_graph(load_model(path), spec)
    return (lambda inputs: _eager(graph, inputs)), spec


def check_parity(
    loaded: Any,
    exported_path: str | Path,
    format: str,  # noqa: A002 - the CLI's word for it
    sizes: Sequence[tuple[int, int, int]] = DEFAULT_SIZES,
    seed: int = 0,
) -> dict[str, float]:
    """Max absolute probability difference between eager PyTorch and an export, per size.

    Args:
        loaded: ``LoadedModel`` or model path (the reference).
        exported_path: the ONNX file, TorchScript file or model folder.
        format: ``onnx``, ``torchscript`` or ``native``.
        sizes: (batch, height_px, width_px) to test; a fixed-size (Deepness) graph is
            tested at its own tile size with batches 1 and 2 instead.
        seed: random inputs seed.

    Returns:
        ``{"BxHxW": max_abs_diff}`` for each size tested, plus ``"BxHxWx3t"`` (the last size
        with 3 thresholds per window) for a window-sharing export.

    Raises:
        ModelError: unknown format, unreadable export, or output shapes that differ.
    """
    runners = {"onnx": _onnx_runner, "torchscript": _torchscript_runner, "native": _native_runner}
    if format not in runners:
        raise ModelError(
            f"unknown export format {format!r}", hint=f"Use one of {', '.join(runners)}."
        )
    loaded = load_model(loaded)
    run, spec = runners[format](Path(exported_path))
    graph = build_graph(loaded, spec)
    if spec.tile_size_px is not None:
        sizes = [(batch, spec.tile_size_px, spec.tile_size_px) for batch in DEEPNESS_BATCHES]
    checks = [(batch, height_px, width_px, 1) for batch, height_px, width_px in sizes]
    if spec.shares_windows:
        # The last size again with 3 thresholds per window, window-major.
        checks.append((*sizes[-1], 3))
    differences: dict[str, float] = {}
    for index, (batch, height_px, width_px, per_window) in enumerate(checks):
        inputs = random_inputs(
            spec, batch, height_px, width_px, loaded.card, seed + index, per_window
        )
        expected = _eager(graph, inputs)
        actual = np.asarray(run(inputs))
        if actual.shape != expected.shape:
            raise ModelError(
                f"{exported_path}: output shape {actual.shape} differs from eager "
                f"{expected.shape} for input {batch}x{height_px}x{width_px}",
                hint="The export is broken; export again or report the architecture.",
            )
        label = f"{batch}x{height_px}x{width_px}" + (f"x{per_window}t" if per_window > 1 else "")
        differences[label] = float(np.max(np.abs(actual - expected)))
    return differences


def require_parity(
    parity: dict[str, float], target: Path, tolerance: float = PARITY_TOLERANCE
) -> dict[str, float]:
    """``parity``, unless the export's outputs drift from eager PyTorch.

    Raises:
        ModelError: a difference above ``tolerance`` (or NaN).
    """
    worst = max(parity.values())
    if not worst <= tolerance:
        raise ModelError(
            f"{target}: export differs from eager PyTorch by {worst:.3g} (max abs, "
            f"tolerance {tolerance:g}; per size {json.dumps(parity)}); nothing was written",
            hint="Try another --opset or format; export with --no-check to keep it anyway.",
        )
    return parity

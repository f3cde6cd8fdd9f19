"""A model sized in metres runs on the grid it predicts on: its backend bound to the cell size.

A relief model with ``ground_window_m`` (``models/unet_film_relief.py``) sizes its ground
window and smoothing in cells from the cell size of the windows it is given, so its ground
is the DSM-only baseline's on every grid. Eager PyTorch reads the cell size from the module
(``set_cell_size_m``). An exported graph holds the pool and convolution sizes of one cell
size: the shipped ``model.onnx`` has the card's ``resolution_m`` (``forestgaps export``
loads the model, which sets it); another cell size gets a graph exported at it into the
cache (``backends.onnx_path_for``). Without PyTorch no graph can be exported, so such a
model then predicts on its shipped graph's cell size (``native_range``) and the DSM is
resampled, as for any DSM outside a model's native range.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from forestgaps_engine.errors import InferenceError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.resample import RESOLUTION_TOLERANCE, native_range_m, working_grid
from forestgaps_engine.inference.backends import (
    OnnxRuntimeBackend,
    OpenVinoBackend,
    TorchAtCellSize,
    TorchBackend,
    cpu_supports_bf16,
    onnx_path_for,
)
from forestgaps_engine.inference.model_source import as_inference_model
from forestgaps_engine.models.card import sized_in_metres

logger = logging.getLogger(__name__)


def native_range(model: Any, declared: tuple[float, float] | None) -> tuple[float, float] | None:
    """Cell sizes ``model`` predicts on unresampled, given the card's declared range.

    A model sized in metres with no weights at hand (an exported graph only) has one
    native cell size: its graph's.
    """
    if declared is None or not sized_in_metres(model.card):
        return declared
    if getattr(model, "network", None) is not None:
        return declared
    size_m = model.card.resolution_m
    return (size_m, size_m)


def model_working_grid(model: Any, grid: Grid, native_resolutions: bool, source: str) -> Grid:
    """``geo.resample.working_grid`` for ``model`` under ``InferenceConfig.native_resolutions``."""
    declared = native_range_m(model.card) if native_resolutions else None
    return working_grid(grid, model.card.resolution_m, source, native_range(model, declared))


def bind_cell_size(
    backend: Any, model: Any, cell_size_m: float, cache_dir: str | None = None
) -> Any:
    """The backend that runs ``model`` on cells of ``cell_size_m`` metres.

    Models sized in cells get ``backend`` back unchanged. Eager PyTorch is told the cell
    size. A graph exported at another cell size is replaced by one exported at this one,
    on the same runtime; int8 graphs are quantised at the card's cell size only, so there
    the float OpenVINO graph runs instead (logged).

    Args:
        backend: built by ``backends.create_backend`` for ``model``.
        model: ``InferenceModel`` (or ``LoadedModel``).
        cell_size_m: cell size of the grid the windows come from, metres.
        cache_dir: where ONNX exports live.

    Raises:
        InferenceError: the graph must be exported again and PyTorch or the weights are
            missing (``native_range`` avoids this by resampling).
    """
    model = as_inference_model(model)
    if not sized_in_metres(model.card):
        return backend
    base = getattr(backend, "_inner", backend)
    if isinstance(base, TorchBackend):
        return TorchAtCellSize(base, cell_size_m)
    bound_m = float(getattr(backend, "cell_size_m", model.card.resolution_m))
    if math.isclose(bound_m, cell_size_m, rel_tol=1e-6):
        return backend
    # Graphs for other cell sizes, kept on the backend: a region worker binds every block.
    rebound_by_cell = backend.__dict__.setdefault("_at_cell_sizes", {})
    if float(cell_size_m) in rebound_by_cell:
        return rebound_by_cell[float(cell_size_m)]
    if model.loaded is None:
        if abs(cell_size_m - bound_m) <= RESOLUTION_TOLERANCE * bound_m:
            # predict keeps cells within this tolerance of its native range unresampled.
            return backend
        raise InferenceError(
            f"{model.path}: the exported graph runs on {bound_m:g} m cells, not "
            f"{cell_size_m:g} m, and exporting another needs PyTorch and the weights",
            hint="Install torch and copy model.safetensors into the model folder, or "
            f"resample the DSM to {bound_m:g} m.",
        )
    onnx_path = onnx_path_for(model.loaded, cache_dir, float(cell_size_m))
    name = backend.name
    if name == "onnxruntime":
        rebound: Any = OnnxRuntimeBackend(onnx_path, backend.device)
    else:
        precision = "bf16" if name == "openvino_bf16" else "f32"
        if name == "openvino_int8":
            precision = "bf16" if cpu_supports_bf16() else "f32"
            logger.info(
                "int8 graph is quantised for %g m cells; OpenVINO %s runs %g m cells",
                bound_m,
                precision,
                cell_size_m,
            )
        rebound = OpenVinoBackend(onnx_path, precision)
    rebound.cell_size_m = float(cell_size_m)
    rebound_by_cell[float(cell_size_m)] = rebound
    return rebound

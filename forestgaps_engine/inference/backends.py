"""Backends that turn normalized DSM windows and thresholds into gap probabilities.

Every backend has one call, ``run(dsm_norm (N, 1, h, w) float32, thresholds_m (N,) float32)
-> (N, 1, h, w) float32 probabilities``. Models return logits; the sigmoid is applied here,
once, so exported graphs and eager models stay interchangeable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from forestgaps_engine.errors import InferenceError, ModelError
from forestgaps_engine.files import ensure_writable_dir

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
ONNX_OPSET = 17
BACKENDS = ("auto", "torch", "onnxruntime")


class Backend(Protocol):
    """What the predictor needs from a backend."""

    name: str
    device: str

    def run(self, dsm_norm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        """(N, 1, h, w) normalized DSM and (N,) thresholds in metres -> probabilities."""


class TorchBackend:
    """Eager PyTorch on ``cpu``, ``cuda`` or ``mps``.

    Args:
        model: registry model returning logits.
        device: torch device name.
    """

    name = "torch"

    def __init__(self, model: Any, device: str = "cpu") -> None:
        import torch

        self.device = device
        self._torch = torch
        self._model = model.to(device).eval()

    def run(self, dsm_norm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            dsm = torch.from_numpy(np.ascontiguousarray(dsm_norm, dtype=np.float32))
            thresholds = torch.from_numpy(np.ascontiguousarray(thresholds_m, dtype=np.float32))
            logits = self._model(dsm.to(self.device), thresholds.to(self.device))
            return torch.sigmoid(logits.float()).cpu().numpy()


def default_cache_dir() -> Path:
    """Where on-the-fly ONNX exports are kept (``FORESTGAPS_CACHE_DIR`` overrides)."""
    root = os.environ.get("FORESTGAPS_CACHE_DIR") or Path.home() / ".cache" / "forestgaps"
    return Path(root) / "onnx"


def export_onnx(model: Any, target: str | Path, tile_px: int = 64) -> Path:
    """The bare network as ONNX (inputs ``dsm`` normalized and ``threshold_m``, output
    ``logits``; dynamic N/H/W), via ``models.export``.

    Raises:
        ModelError: the exporter rejects the model.
    """
    from forestgaps_engine.models.export.onnx import export_logits_onnx

    return export_logits_onnx(model, target, tile_px=tile_px, opset=ONNX_OPSET)


def _has_logits_signature(onnx_path: Path) -> bool:
    """Whether a graph takes (dsm, threshold_m) and returns logits, as this backend expects.

    ``forestgaps export`` graphs that embed normalization and the sigmoid do not qualify.
    """
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    inputs = [item.name for item in graph.input]
    return inputs == ["dsm", "threshold_m"] and [item.name for item in graph.output] == ["logits"]


def onnx_path_for(loaded: Any, cache_dir: str | Path | None = None) -> Path:
    """The ONNX graph of a loaded model: shipped beside the weights, or exported to the cache.

    The cache file is named after the weights hash, so a retrained model never reuses a
    stale graph.
    """
    shipped = Path(loaded.path) / ONNX_FILE
    if shipped.is_file() and _has_logits_signature(shipped):
        return shipped
    model_id = loaded.card.model_id or "unhashed"
    folder = ensure_writable_dir(Path(cache_dir) if cache_dir else default_cache_dir())
    target = folder / f"{loaded.card.architecture}-{model_id}.onnx"
    if not target.is_file() or model_id == "unhashed":
        logger.info("exporting the model to ONNX: %s", target)
        export_onnx(loaded.model, target)
    return target


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU (or CUDA when its provider is installed).

    Args:
        onnx_path: exported graph with inputs ``dsm`` and ``threshold_m``.
        device: ``cpu`` or ``cuda``.
    """

    name = "onnxruntime"

    def __init__(self, onnx_path: str | Path, device: str = "cpu") -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise InferenceError(
                "onnxruntime is not installed",
                hint="pip install onnxruntime, or use --backend torch.",
            ) from error
        available = onnxruntime.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self.device = "cuda" if providers[0].startswith("CUDA") else "cpu"
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(onnx_path), sess_options=options, providers=providers
            )
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types
            raise ModelError(
                f"{onnx_path}: ONNX Runtime cannot load the graph ({error})",
                hint="Delete the file to re-export it, or use --backend torch.",
            ) from error

    def run(self, dsm_norm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        (logits,) = self._session.run(
            ["logits"],
            {
                "dsm": np.ascontiguousarray(dsm_norm, dtype=np.float32),
                "threshold_m": np.ascontiguousarray(thresholds_m, dtype=np.float32),
            },
        )
        from scipy.special import expit

        return expit(logits).astype(np.float32, copy=False)


def create_backend(
    loaded: Any, backend: str = "auto", device: str = "auto", cache_dir: str | Path | None = None
) -> Backend:
    """Pick and build a backend for a ``LoadedModel``.

    ``auto`` is ONNX Runtime on the CPU (about 4x faster than eager torch there, see
    benchmarks/inference.py), falling back to torch when the export fails; eager torch on
    CUDA and MPS.

    Args:
        loaded: ``LoadedModel``.
        backend: ``auto``, ``torch`` or ``onnxruntime``.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        cache_dir: where ONNX exports are cached.

    Raises:
        InferenceError: unknown backend.
    """
    from forestgaps_engine.environment.base import detect_best_device

    if backend not in BACKENDS:
        raise InferenceError(
            f"unknown backend {backend!r}", hint=f"Use one of {', '.join(BACKENDS)}."
        )
    device_name = detect_best_device(device).name
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(onnx_path_for(loaded, cache_dir), device_name)
    if backend == "auto" and device_name == "cpu":
        try:
            import onnxruntime  # noqa: F401

            return OnnxRuntimeBackend(onnx_path_for(loaded, cache_dir), device_name)
        except (ImportError, ModelError) as error:
            logger.info("ONNX Runtime unavailable (%s); using eager torch", error)
    return TorchBackend(loaded.model, device_name)

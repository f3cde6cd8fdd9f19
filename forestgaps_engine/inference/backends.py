"""Backends that turn DSM windows and thresholds into gap probabilities.

Every backend has one call, ``run(dsm (N, 1, h, w) float32, thresholds_m (N,) float32,
valid=None) -> (N, 1, h, w) float32 probabilities``. A backend whose ``shares_windows`` is
True also takes ``dsm (B, 1, h, w)`` with ``thresholds_m (B * K,)`` (K thresholds per
window, window-major) and returns ``(B * K, 1, h, w)``: every model since window sharing
exists does, graphs exported before it do not (``accepts_shared_windows`` probes them). ``dsm`` is normalized, except for a
backend whose ``takes_raw_heights`` is True (an exported graph that normalizes by itself):
it gets raw metres (NaN at nodata) and the ``valid`` mask. Models return logits; the
sigmoid is applied here, or inside an exported graph, so eager models and graphs stay
interchangeable.

ONNX graphs come in three signatures (``graph_kind``): the bare network ``(dsm,
threshold_m) -> logits`` (cached export), ``(dsm_norm, threshold_m) -> probability`` and
``(dsm_m, valid, threshold_m) -> probability`` (``forestgaps export``, with or without
``--no-normalization``). ONNX Runtime and OpenVINO run any of them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from forestgaps_engine.errors import InferenceError, ModelError
from forestgaps_engine.files import cache_dir, ensure_writable_dir
from forestgaps_engine.inference.model_source import ONNX_FILE, as_inference_model, torch_available
from forestgaps_engine.models.card import sized_in_metres

logger = logging.getLogger(__name__)

BACKENDS = (
    "auto", "torch", "torch_compile", "onnxruntime", "openvino", "openvino_bf16", "openvino_int8"
)
GRAPH_LOGITS, GRAPH_NORMALIZED, GRAPH_RAW = "logits", "normalized", "raw"
_SIGNATURES = {
    (("dsm", "threshold_m"), ("logits",)): GRAPH_LOGITS,
    (("dsm_norm", "threshold_m"), ("probability",)): GRAPH_NORMALIZED,
    (("dsm_m", "valid", "threshold_m"), ("probability",)): GRAPH_RAW,
}


class Backend(Protocol):
    """What the predictor needs from a backend."""

    name: str
    device: str
    takes_raw_heights: bool
    shares_windows: bool

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """(N, 1, h, w) DSM, (N,) thresholds in metres, optional valid mask -> probabilities."""


def default_cache_dir() -> Path:
    """Where on-the-fly ONNX exports are kept (``FORESTGAPS_CACHE_DIR`` overrides)."""
    return cache_dir() / "onnx"


def openvino_cache_dir() -> Path:
    """Where OpenVINO keeps compiled models (``FORESTGAPS_CACHE_DIR`` overrides)."""
    return cache_dir() / "openvino"


def graph_kind(input_names: list[str], output_names: list[str], source: str | Path) -> str:
    """``logits``, ``normalized`` or ``raw``: which of the known signatures a graph has.

    Raises:
        ModelError: another signature (for example a Deepness graph with a fixed threshold).
    """
    kind = _SIGNATURES.get((tuple(input_names), tuple(output_names)))
    if kind is None:
        raise ModelError(
            f"{source}: ONNX graph with inputs {input_names} and outputs {output_names} is "
            "not a ForestGaps prediction graph",
            hint="Export it with `forestgaps export MODEL --format onnx` (no --deepness, "
            "no --threshold).",
        )
    return kind


def graph_inputs(
    kind: str, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None
) -> dict[str, np.ndarray]:
    """The feed of a graph of ``kind``: contiguous float32 arrays by input name."""
    dsm = np.ascontiguousarray(dsm, dtype=np.float32)
    thresholds = np.ascontiguousarray(thresholds_m, dtype=np.float32)
    if kind == GRAPH_LOGITS:
        return {"dsm": dsm, "threshold_m": thresholds}
    if kind == GRAPH_NORMALIZED:
        return {"dsm_norm": dsm, "threshold_m": thresholds}
    mask = np.isfinite(dsm) if valid is None else np.asarray(valid, dtype=bool)
    return {"dsm_m": dsm, "valid": mask.astype(np.float32), "threshold_m": thresholds}


def graph_probabilities(kind: str, output: np.ndarray) -> np.ndarray:
    """Probabilities from a graph's output (the sigmoid for bare logits)."""
    if kind == GRAPH_LOGITS:
        from scipy.special import expit

        return expit(output).astype(np.float32, copy=False)
    return np.asarray(output, dtype=np.float32)


class TorchBackend:
    """Eager PyTorch on ``cpu``, ``cuda`` or ``mps``.

    Args:
        model: registry model returning logits.
        device: torch device name.
    """

    name = "torch"
    takes_raw_heights = False

    def __init__(self, model: Any, device: str = "cpu") -> None:
        import torch

        self.device = device
        self._torch = torch
        self._model = model.to(device).eval()
        self.shares_windows = accepts_shared_windows(self)

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """Gap probabilities (N, 1, h, w) from eager PyTorch; ``dsm`` in metres."""
        return self._probabilities(self._model, dsm, thresholds_m)

    def _probabilities(self, module: Any, dsm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            inputs = torch.from_numpy(np.ascontiguousarray(dsm, dtype=np.float32))
            thresholds = torch.from_numpy(np.ascontiguousarray(thresholds_m, dtype=np.float32))
            logits = module(inputs.to(self.device), thresholds.to(self.device))
            return torch.sigmoid(logits.float()).cpu().numpy()


class TorchAtCellSize:
    """An eager backend whose shared module runs at one cell size, call by call.

    Two predictions on grids of different cell sizes may share one module; each call sets
    its own cell size and runs under ``CELL_SIZE_LOCK``, so neither sees the other's.
    """

    def __init__(self, inner: TorchBackend, cell_size_m: float) -> None:
        self._inner = inner
        self.cell_size_m = float(cell_size_m)
        self.name = inner.name
        self.device = inner.device
        self.takes_raw_heights = inner.takes_raw_heights
        self.shares_windows = inner.shares_windows

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """Gap probabilities (N, 1, h, w) at this backend's cell size."""
        with CELL_SIZE_LOCK:
            self._inner._model.set_cell_size_m(self.cell_size_m)
            return self._inner.run(dsm, thresholds_m, valid)


class TorchCompileBackend(TorchBackend):
    """PyTorch with ``torch.compile`` (inductor), compiled lazily on the first batch.

    The first call compiles for its shape (seconds to tens of seconds on a CPU; inductor
    keeps the result in its on-disk cache, so a later process loads it faster). A run
    brings batches of two sizes, full ones and the shorter last one of a tile row or
    column chunk: the second size makes ``torch.compile`` compile once more with a
    dynamic batch dimension, which then serves every size but 1, a size it always
    specializes. A single window is therefore padded to two (a zero window, cut off the
    output: windows are independent in eval mode). Window sharing is probed on the eager
    model, which compiles nothing. When compilation is impossible, or a compiled call
    fails where the eager model succeeds on the same inputs, the run goes on eagerly and
    ``name`` becomes ``torch``, so ``summary.json`` says what ran. ``auto`` never picks
    this backend: its compile time pays off only on large rasters.
    """

    def __init__(self, model: Any, device: str = "cpu") -> None:
        # Unset until compiled, so the window-sharing probe in super() runs eagerly.
        self._compiled: Any = None
        super().__init__(model, device)
        from forestgaps_engine.models.compile import compile_unsupported_reason

        reason = compile_unsupported_reason(self._model)
        if reason is not None:
            logger.warning("torch.compile disabled: %s; running eagerly", reason)
            self.name = "torch"
            return
        try:
            self._compiled = self._torch.compile(self._model)
        except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
            self._switch_to_eager(error)
            return
        self.name = "torch_compile"

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """Gap probabilities (N, 1, h, w) from the compiled model; ``dsm`` in metres."""
        if self._compiled is None:
            return super().run(dsm, thresholds_m, valid)
        n_outputs = len(thresholds_m)
        if dsm.shape[0] == 1:
            dsm = np.concatenate([dsm, np.zeros_like(dsm)])
            thresholds_m = np.concatenate([thresholds_m, thresholds_m])
        try:
            probabilities = self._probabilities(self._compiled, dsm, thresholds_m)
        except Exception as error:  # noqa: BLE001 - a compiler failure (on any call: a new
            # batch size compiles again) means: run eagerly. An error of the model itself
            # fails eagerly too, and that error is the one raised.
            probabilities = super().run(dsm, thresholds_m, valid)
            self._switch_to_eager(error)
        return probabilities[:n_outputs]

    def _switch_to_eager(self, error: Exception) -> None:
        logger.warning(
            "torch.compile failed (%s: %s); running eagerly", type(error).__name__, error
        )
        self._compiled, self.name = None, "torch"


def shipped_graph_kind(onnx_path: Path) -> str | None:
    """Kind of a ``model.onnx`` read with the ``onnx`` package, None when unusable."""
    try:
        import onnx
    except ImportError:
        return None
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    try:
        return graph_kind(
            [item.name for item in graph.input], [item.name for item in graph.output], onnx_path
        )
    except ModelError:
        return None


def onnx_path_for(
    loaded: Any, cache_dir: str | Path | None = None, cell_size_m: float | None = None
) -> Path:
    """The ONNX graph of a loaded model: shipped beside the weights, or exported to the cache.

    A shipped graph that normalizes by itself is passed over when torch is at hand: the
    bare network, fed windows normalized once for all thresholds, is cheaper. The cache
    file is named after the weights hash, so a retrained model never reuses a stale graph.
    A model sized in metres (``inference.cell_size``) has a graph per cell size: the
    shipped one is the card's resolution, others are exported at ``cell_size_m``.
    """
    in_metres = sized_in_metres(loaded.card)
    # The shipped graph of a model sized in metres is traced at the card's resolution.
    wanted_m = float(cell_size_m or loaded.card.resolution_m)
    shipped = Path(loaded.path) / ONNX_FILE
    if (
        shipped.is_file()
        and shipped_graph_kind(shipped) in (GRAPH_LOGITS, GRAPH_NORMALIZED)
        and (not in_metres or loaded.card.resolution_m == wanted_m)
    ):
        return shipped
    model_id = loaded.card.model_id or "unhashed"
    folder = ensure_writable_dir(Path(cache_dir) if cache_dir else default_cache_dir())
    suffix = f"-{wanted_m:g}m" if in_metres else ""
    target = folder / f"{loaded.card.architecture}-{model_id}{suffix}.onnx"
    if not target.is_file() or model_id == "unhashed":
        logger.info("exporting the model to ONNX: %s", target)
        export_onnx(loaded.model, target, wanted_m if in_metres else None)
    return target


# One model module may serve several predictions at once (the service, region threads):
# its cell size is set and used under this lock, by exports and by eager runs alike.
CELL_SIZE_LOCK = threading.RLock()


def export_onnx(network: Any, target: str | Path, cell_size_m: float | None = None) -> Path:
    """The bare network as ONNX (``models.export.onnx.export_logits_onnx``).

    A model sized in metres is traced at ``cell_size_m``; None exports as the module is.

    Raises:
        ModelError: the exporter rejects the model.
    """
    from forestgaps_engine.models.export.onnx import export_logits_onnx

    if cell_size_m is None:
        return export_logits_onnx(network, target)
    with CELL_SIZE_LOCK:
        kept = network.cell_sizes_m
        network.set_cell_size_m(cell_size_m)
        try:
            return export_logits_onnx(network, target)
        finally:
            network.set_cell_size_m(kept)


class OnnxRuntimeBackend:
    """ONNX Runtime on the CPU (or CUDA when its provider is installed).

    Args:
        onnx_path: graph of one of the ``graph_kind`` signatures.
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
        self.kind = graph_kind(
            [item.name for item in self._session.get_inputs()],
            [item.name for item in self._session.get_outputs()],
            onnx_path,
        )
        self.takes_raw_heights = self.kind == GRAPH_RAW
        self._output = self._session.get_outputs()[0].name
        self.shares_windows = accepts_shared_windows(self)

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """Gap probabilities (N, 1, h, w) from ONNX Runtime; ``dsm`` in metres."""
        (output,) = self._session.run(
            [self._output], graph_inputs(self.kind, dsm, thresholds_m, valid)
        )
        return graph_probabilities(self.kind, output)


def accepts_shared_windows(backend: Backend) -> bool:
    """Whether a graph takes K thresholds per window (``shares_windows``).

    Graphs exported before window sharing fail on 2 windows with 4 thresholds (their
    threshold and DSM batches must match); a graph that runs must also agree with the
    same windows repeated, so a graph that broadcast the batches some other way is not
    trusted. Costs two calls on 32 px windows when a backend is built.
    """
    generator = np.random.default_rng(0)
    dsm = generator.normal(0.0, 1.0, (2, 1, 32, 32)).astype(np.float32)
    if backend.takes_raw_heights:
        dsm = 300.0 + 10.0 * dsm
    valid = np.ones(dsm.shape, dtype=bool)
    thresholds_m = np.array([3.0, 8.0, 3.0, 8.0], dtype=np.float32)
    try:
        shared = backend.run(dsm, thresholds_m, valid)
    except Exception:  # noqa: BLE001 - each runtime raises its own error types
        return False
    repeated = backend.run(np.repeat(dsm, 2, axis=0), thresholds_m, np.repeat(valid, 2, axis=0))
    # bf16 runs round differently with the batch size; 0.02 still tells a wrong pairing.
    return shared.shape == repeated.shape and bool(np.allclose(shared, repeated, atol=2e-2))


def cpu_supports_bf16() -> bool:
    """Whether OpenVINO reports bf16 among this CPU's capabilities."""
    try:
        import openvino
    except ImportError:
        return False
    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "BF16" in capabilities


class OpenVinoBackend:
    """OpenVINO on the CPU, in fp32 or bf16 (``INFERENCE_PRECISION_HINT``), or int8.

    Args:
        onnx_path: graph of one of the ``graph_kind`` signatures; for ``int8``, the
            quantised IR (``inference.int8``), whose float layers then run in fp32.
        precision: ``f32``, ``bf16`` (only where the CPU supports it) or ``int8``.

    Raises:
        InferenceError: OpenVINO missing, or bf16 asked on a CPU without it.
        ModelError: OpenVINO cannot read or compile the graph.
    """

    def __init__(self, onnx_path: str | Path, precision: str = "f32") -> None:
        try:
            import openvino
        except ImportError as error:
            raise InferenceError(
                "OpenVINO is not installed",
                hint="pip install 'forestgaps[export]' (or openvino), or use another --backend.",
            ) from error
        if precision == "bf16" and not cpu_supports_bf16():
            raise InferenceError(
                "this CPU has no bf16 support in OpenVINO",
                hint="Use --backend openvino (fp32) or --backend auto.",
            )
        self.name = {"f32": "openvino", "bf16": "openvino_bf16"}.get(precision, "openvino_int8")
        self.device = "cpu"
        core = openvino.Core()
        compiled_cache = openvino_cache_dir()
        try:
            compiled_cache.mkdir(parents=True, exist_ok=True)
            # OpenVINO keys its compiled blobs by graph, device and settings: a later run
            # with the same model loads in 0.05 s instead of compiling for 0.2-0.3 s.
            core.set_property({"CACHE_DIR": str(compiled_cache)})
        except OSError as error:
            logger.info("OpenVINO compiles without a cache (%s: %s)", compiled_cache, error)
        try:
            network = core.read_model(str(onnx_path))
            # int8 layers are fixed in the IR; its float layers stay fp32, as quantised.
            hint = "f32" if precision == "int8" else precision
            self._compiled = core.compile_model(network, "CPU", {"INFERENCE_PRECISION_HINT": hint})
        except Exception as error:  # noqa: BLE001 - OpenVINO raises RuntimeError and its own
            raise ModelError(
                f"{onnx_path}: OpenVINO cannot compile the graph ({error})",
                hint="Delete the file to re-export it, or use --backend onnxruntime.",
            ) from error
        # A port can carry several tensor names (ONNX input plus an internal one).
        self._inputs = [_known_name(port.get_names()) for port in self._compiled.inputs]
        self.kind = graph_kind(
            self._inputs,
            [_known_name(port.get_names()) for port in self._compiled.outputs],
            onnx_path,
        )
        self.takes_raw_heights = self.kind == GRAPH_RAW
        self._request = self._compiled.create_infer_request()
        self.shares_windows = accepts_shared_windows(self)

    def run(
        self, dsm: np.ndarray, thresholds_m: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """Gap probabilities (N, 1, h, w) from OpenVINO; ``dsm`` in metres."""
        feed = graph_inputs(self.kind, dsm, thresholds_m, valid)
        result = self._request.infer([feed[name] for name in self._inputs])
        # The request reuses its output buffer: copy before the next call.
        return graph_probabilities(self.kind, np.array(result[self._compiled.output(0)]))


def _known_name(names: set[str]) -> str:
    known = {name for signature in _SIGNATURES for group in signature for name in group}
    matches = sorted(names & known)
    return matches[0] if matches else sorted(names)[0]


def build_backend(
    name: str, model: Any, device: str, cache_dir: str | Path | None = None
) -> Backend:
    """One named backend (never ``auto``) for an ``InferenceModel``.

    Raises:
        InferenceError: the backend needs torch (or its runtime) and it is missing.
        ModelError: the graph cannot be exported or loaded.
    """
    torch_backends = {"torch": TorchBackend, "torch_compile": TorchCompileBackend}
    if name in torch_backends:
        if model.network is None:
            if torch_available():
                raise InferenceError(
                    f"the {name} backend needs the model's weights; {model.path} holds only "
                    "the exported model.onnx",
                    hint="Use --backend auto, onnxruntime or openvino, or copy "
                    "model.safetensors into the folder.",
                )
            raise InferenceError(
                f"the {name} backend needs PyTorch, which is not installed",
                hint="Install torch, or use --backend onnxruntime/openvino with a model.onnx.",
            )
        return torch_backends[name](model.network, device)
    onnx_path = model.onnx_path or onnx_path_for(model.loaded, cache_dir)
    if name == "onnxruntime":
        return OnnxRuntimeBackend(onnx_path, device)
    if name in ("openvino", "openvino_bf16"):
        return OpenVinoBackend(onnx_path, "bf16" if name == "openvino_bf16" else "f32")
    if name == "openvino_int8":
        from forestgaps_engine.inference.int8 import int8_path

        return OpenVinoBackend(int8_path(model, cache_dir), "int8")
    raise InferenceError(f"unknown backend {name!r}", hint=f"Use one of {', '.join(BACKENDS)}.")


def available_backends(model: Any, device: str, cache_dir: str | Path | None = None) -> list[str]:
    """Backends worth trying for ``model`` on ``device`` (installed runtimes only)."""
    import importlib.util

    names = []
    if model.network is not None:
        names.append("torch")
    if device != "cpu":
        return names or ["onnxruntime"]
    if importlib.util.find_spec("onnxruntime") is not None:
        names.append("onnxruntime")
    if importlib.util.find_spec("openvino") is not None:
        names.append("openvino")
        if cpu_supports_bf16():
            names.append("openvino_bf16")
        # int8 is a candidate once its IR exists (exported, or cached by an explicit
        # --backend openvino_int8): quantising takes a minute, too long to do unasked.
        from forestgaps_engine.inference.int8 import existing_int8_path

        if existing_int8_path(model, cache_dir) is not None:
            names.append("openvino_int8")
    return names


def create_backend(
    loaded: Any,
    backend: str = "auto",
    device: str = "auto",
    cache_dir: str | Path | None = None,
    calibration: dict[str, Any] | None = None,
) -> Backend:
    """Pick and build a backend for a model.

    ``auto`` calibrates once per machine and model (``inference.calibration``): the fastest
    backend whose gap masks agree with PyTorch fp32 on synthetic tiles; the choice is cached.

    Args:
        loaded: ``LoadedModel`` or ``InferenceModel``.
        backend: ``auto``, ``torch``, ``torch_compile``, ``onnxruntime``, ``openvino``,
            ``openvino_bf16`` or ``openvino_int8``.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        cache_dir: where ONNX exports and the calibration cache live.
        calibration: filled with the calibration figures when ``auto`` ran or read them.

    Raises:
        InferenceError: unknown or unavailable backend.
    """
    if backend not in BACKENDS:
        raise InferenceError(
            f"unknown backend {backend!r}", hint=f"Use one of {', '.join(BACKENDS)}."
        )
    model = as_inference_model(loaded)
    device_name = _device_name(device, model)
    if backend != "auto":
        return build_backend(backend, model, device_name, cache_dir)
    from forestgaps_engine.inference.calibration import choose_backend

    return choose_backend(model, device_name, cache_dir, calibration)


def _device_name(device: str, model: Any) -> str:
    if model.network is None:
        return "cuda" if device == "cuda" else "cpu"
    from forestgaps_engine.environment.base import detect_best_device

    return detect_best_device(device).name

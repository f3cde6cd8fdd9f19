"""OpenVINO int8: post-training quantisation (NNCF) of a model's bare ONNX graph.

The graph (``export_logits_onnx``: normalized DSM and threshold in, logits out) is
quantised by NNCF's accuracy-controlled post-training quantisation: activations and
weights of convolutions and matrix products go int8 (AMX-INT8 or VNNI where the CPU has
them, plain AVX-512/AVX2 int8 kernels elsewhere), and layers are put back in floating
point, most harmful first, until the gap masks agree with PyTorch fp32 on the calibration
windows. The agreement is the one ``--backend auto`` asks of bf16: ``1 - IoU`` of the gap
masks (probability >= 0.5 on valid cells) at most ``MAX_IOU_LOSS``. The written model is
compiled as the backend compiles it and checked once more before it appears.

Height arithmetic never goes int8 (``FLOAT_TYPES``): the relief ``dsm - opening`` and the
margin ``threshold - relief`` need centimetres, which 256 levels over a DSM's range of
100 m and more cannot hold.

Files: ``model_int8.xml`` / ``.bin`` (OpenVINO IR) and ``model_int8.json`` (model id,
parity, calibration sources), written in a temporary folder beside the target, read back,
then renamed into place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine import partials
from forestgaps_engine.errors import InferenceError, ModelError
from forestgaps_engine.files import ensure_writable_dir, write_json_atomic
from forestgaps_engine.models.export.result import ExportResult

logger = logging.getLogger(__name__)

INT8_XML = "model_int8.xml"
INT8_RECORD = "model_int8.json"
MAX_IOU_LOSS = 0.005
CUTOFF = 0.5
# The accuracy control aims below the bar: the written model is checked again compiled as
# the backend runs it, whose float layers may round differently from NNCF's own compile.
TARGET_SHARE = 0.6
# Operation types left in floating point: everything but convolutions and matrix products.
FLOAT_TYPES = (
    "Add", "Subtract", "Multiply", "Divide", "Minimum", "Maximum", "MaxPool", "AvgPool",
    "Interpolate", "Concat", "ShapeOf", "Reshape", "Unsqueeze", "Sigmoid", "Relu",
)  # fmt: skip
# The backend compiles the IR with float layers in fp32 on every CPU, so a model checked
# here behaves the same on CPUs with and without bf16.
COMPILE_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}


@dataclass(frozen=True)
class CalibrationWindows:
    """Windows the quantiser calibrates on and checks parity on.

    Attributes:
        inputs: (N, 1, h, w) float32 normalized DSM windows (the model's input).
        valid: (N, 1, h, w) bool, cells with data.
        thresholds_m: thresholds every window is run with, metres.
        sources: where the windows come from (``{"synthetic": n, "real": n, ...}``).
    """

    inputs: np.ndarray
    valid: np.ndarray
    thresholds_m: tuple[float, ...]
    sources: dict[str, Any] = field(default_factory=dict)


def require_nncf() -> Any:
    """The ``nncf`` module.

    Raises:
        InferenceError: NNCF (or OpenVINO) is not installed.
    """
    try:
        import nncf
        import openvino  # noqa: F401
    except ImportError as error:
        raise InferenceError(
            "int8 quantisation needs NNCF and OpenVINO, which are not installed",
            hint="pip install 'forestgaps[export]', or use --backend openvino_bf16/openvino.",
        ) from error
    return nncf


def gap_iou(compiled: Any, items: Sequence[tuple[np.ndarray, ...]]) -> float:
    """IoU of a compiled graph's gap masks with the reference masks, pooled over ``items``.

    Each item is ``(dsm (K, 1, h, w), thresholds (K,), reference mask, valid)``; the graph
    returns logits, so ``logit >= 0`` is ``probability >= 0.5``.
    """
    intersection = union = 0
    for dsm, thresholds, reference, valid in items:
        logits = np.asarray(compiled([dsm, thresholds])[0])
        mask = (logits >= np.log(CUTOFF / (1.0 - CUTOFF))) & valid
        intersection += int(np.logical_and(mask, reference).sum())
        union += int(np.logical_or(mask, reference).sum())
    return 1.0 if union == 0 else intersection / union


def quantize_int8(
    loaded: Any,
    onnx_path: str | Path,
    windows: CalibrationWindows,
    out_xml: str | Path,
    max_iou_loss: float = MAX_IOU_LOSS,
    check: bool = True,
) -> ExportResult:
    """Quantise ``onnx_path`` to an int8 OpenVINO IR within gap-mask parity of PyTorch.

    Args:
        loaded: ``LoadedModel`` whose network gives the reference masks.
        onnx_path: its bare graph (``export_logits_onnx``).
        windows: calibration and parity windows.
        out_xml: the ``.xml`` to write (``.bin`` and ``model_int8.json`` beside it).
        max_iou_loss: the largest ``1 - IoU`` of gap masks accepted.
        check: refuse a model above ``max_iou_loss`` (False keeps it, with its figure).

    Returns:
        The IR path; ``parity`` holds ``gap_iou_loss`` on the calibration windows.

    Raises:
        InferenceError: NNCF or OpenVINO missing.
        ModelError: quantisation failed, or parity above ``max_iou_loss`` with ``check``.
    """
    nncf = require_nncf()
    import openvino
    import torch

    out_xml = Path(out_xml)
    thresholds = np.asarray(windows.thresholds_m, dtype=np.float32)
    network = loaded.model.to("cpu").eval()
    # (dsm (K, 1, h, w), thresholds (K,), PyTorch fp32 gap mask, valid) per window.
    items = []
    with torch.inference_mode():
        for dsm_window, valid_window in zip(windows.inputs, windows.valid, strict=True):
            dsm = np.repeat(dsm_window[None], len(thresholds), 0)
            valid = np.repeat(valid_window[None], len(thresholds), 0)
            logits = network(torch.from_numpy(dsm), torch.from_numpy(thresholds))
            reference = (torch.sigmoid(logits.float()).numpy() >= CUTOFF) & valid
            items.append((dsm, thresholds, reference, valid))
    dataset = nncf.Dataset(items, lambda item: {"dsm": item[0], "threshold_m": item[1]})
    core = openvino.Core()
    # NNCF logs every layer it leaves alone at INFO; its warnings and errors still show.
    nncf_logger = logging.getLogger("nncf")
    level = nncf_logger.level
    nncf_logger.setLevel(logging.WARNING)
    try:
        quantized = nncf.quantize_with_accuracy_control(
            core.read_model(str(onnx_path)),
            calibration_dataset=dataset,
            validation_dataset=dataset,
            validation_fn=gap_iou,
            max_drop=max_iou_loss * TARGET_SHARE,
            drop_type=nncf.DropType.ABSOLUTE,
            subset_size=len(items),
            ignored_scope=nncf.IgnoredScope(types=list(FLOAT_TYPES), validate=False),
        )
    except (RuntimeError, ValueError) as error:
        raise ModelError(
            f"{onnx_path}: NNCF cannot quantise the graph ({error})",
            hint="Use --backend openvino_bf16 or openvino.",
        ) from error
    finally:
        nncf_logger.setLevel(level)
    loss = 1.0 - gap_iou(core.compile_model(quantized, "CPU", COMPILE_CONFIG), items)
    if check and loss > max_iou_loss:
        raise ModelError(
            f"{out_xml.name}: int8 gap masks lose {loss:.4f} IoU against PyTorch fp32 on the "
            f"calibration windows (at most {max_iou_loss} allowed)",
            hint="Use --backend openvino_bf16, or pass --no-check to keep it anyway.",
        )
    record = {
        "model_id": loaded.card.model_id,
        "architecture": loaded.card.architecture,
        "gap_iou_loss": round(loss, 6),
        "max_iou_loss": max_iou_loss,
        "thresholds_m": [float(t) for t in thresholds],
        "windows": [int(s) for s in windows.inputs.shape],
        "sources": windows.sources,
        "int8_layers": count_int8_layers(quantized),
        "nncf": nncf.__version__,
        "openvino": openvino.get_version(),
    }
    save_ir(quantized, out_xml, record)
    logger.info("int8 model %s: gap IoU loss %.4f on %d windows", out_xml, loss, len(items))
    return ExportResult(out_xml, "openvino_int8", {"gap_iou_loss": round(loss, 6)})


def count_int8_layers(model: Any) -> dict[str, int]:
    """Convolutions and matrix products fed by a FakeQuantize (int8) and the others."""
    counts = {"int8": 0, "float": 0}
    for op in model.get_ordered_ops():
        if op.get_type_name() not in ("Convolution", "MatMul", "GroupConvolution"):
            continue
        sources = [value.get_node().get_type_name() for value in op.input_values()]
        counts["int8" if "FakeQuantize" in sources else "float"] += 1
    return counts


def save_ir(model: Any, out_xml: Path, record: dict[str, Any]) -> Path:
    """Write the IR and its record: into a temporary folder, read back, renamed into place.

    The ``.bin`` is renamed before the ``.xml`` and the record last, so a reader that
    finds the record finds the pair it describes.
    """
    import openvino

    folder = ensure_writable_dir(out_xml.parent)
    with partials.partial_directory(folder, out_xml.stem) as staging:
        staged_xml = staging / out_xml.name
        openvino.save_model(model, str(staged_xml), compress_to_fp16=False)
        openvino.Core().read_model(str(staged_xml))  # whole and readable
        os.replace(staged_xml.with_suffix(".bin"), out_xml.with_suffix(".bin"))
        os.replace(staged_xml, out_xml)
    write_json_atomic(record_path(out_xml), record)
    return out_xml


def record_path(xml_path: str | Path) -> Path:
    """``model_int8.json`` for ``model_int8.xml`` (``<stem>.json`` beside any other name)."""
    return Path(xml_path).with_suffix(".json")

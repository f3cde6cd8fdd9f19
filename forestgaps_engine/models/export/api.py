"""One entry point for every export format (what the CLI and the plugin call)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.card import load_model
from forestgaps_engine.models.export.native import export_native
from forestgaps_engine.models.export.quantize import INT8_XML, CalibrationWindows
from forestgaps_engine.models.export.result import ExportResult

EXPORT_FORMATS = ("onnx", "torchscript", "native", "openvino_int8")


def export_model(
    model: Any,
    out_path: str | Path,
    format: str = "onnx",  # noqa: A002 - the CLI's word for it
    opset: int = 17,
    include_normalization: bool = True,
    deepness: bool = False,
    fixed_threshold_m: float | None = None,
    tile_size_px: int = 512,
    overlap_px: int = 64,
    check: bool = True,
    calibration: CalibrationWindows | None = None,
) -> ExportResult:
    """Load a model and export it, checking parity with eager PyTorch.

    Args:
        model: model folder, card, weights file, ``"default"`` or ``LoadedModel``.
        out_path: ``.onnx`` / ``.pt`` file, or a folder for ``native``.
        format: ``onnx``, ``torchscript``, ``native`` or ``openvino_int8`` (an OpenVINO
            IR quantised by NNCF; ``out_path`` is its ``.xml``, or a folder that gets
            ``model_int8.xml``).
        opset: ONNX opset (17 or newer).
        include_normalization: normalization inside the graph (onnx, torchscript).
        deepness: ONNX graph and metadata for the Deepness QGIS plugin (needs
            ``fixed_threshold_m``).
        fixed_threshold_m: bake this threshold into the ONNX graph, metres.
        tile_size_px: Deepness tile side, pixels.
        overlap_px: Deepness tile overlap, pixels.
        check: refuse an export that differs from eager PyTorch by more than 1e-4 (int8:
            whose gap masks lose more than ``quantize.MAX_IOU_LOSS`` IoU).
        calibration: the int8 model's calibration windows
            (``inference.int8.calibration_windows``); required for ``openvino_int8``.

    Returns:
        The written path and the parity figures.

    Raises:
        ModelError: unknown format, options that do not fit the format, not a model,
            export failure or parity above 1e-4.
        DataError: the output cannot be written.
    """
    if format not in EXPORT_FORMATS:
        raise ModelError(
            f"unknown export format {format!r}", hint=f"Use one of {', '.join(EXPORT_FORMATS)}."
        )
    if format != "onnx" and (deepness or fixed_threshold_m is not None):
        raise ModelError(
            f"--deepness and --threshold apply to ONNX exports, not {format!r}",
            hint="Use --format onnx with --deepness --threshold METRES.",
        )
    if format == "native" and not include_normalization:
        raise ModelError(
            "a native model folder always keeps its normalizer",
            hint="Drop --no-normalization for --format native.",
        )
    if format == "openvino_int8" and calibration is None:
        raise ModelError(
            "an int8 export needs calibration windows",
            hint="Call inference.int8.calibration_windows(model) and pass them as calibration.",
        )
    loaded = load_model(model)
    if format == "openvino_int8":
        return _export_int8(loaded, Path(out_path), opset, calibration, check)
    if format == "onnx":
        from forestgaps_engine.models.export.onnx import export_onnx

        return export_onnx(
            loaded,
            out_path,
            opset=opset,
            include_normalization=include_normalization,
            deepness=deepness,
            tile_size_px=tile_size_px,
            overlap_px=overlap_px,
            fixed_threshold_m=fixed_threshold_m,
            check=check,
        )
    if format == "torchscript":
        from forestgaps_engine.models.export.torchscript import export_torchscript

        return export_torchscript(loaded, out_path, include_normalization, check)
    return export_native(loaded, out_path, check)


def _export_int8(
    loaded: Any, out_path: Path, opset: int, calibration: CalibrationWindows, check: bool
) -> ExportResult:
    """The bare ONNX graph in a temporary folder, quantised to ``out_path``."""
    from forestgaps_engine.models.export.onnx import export_logits_onnx
    from forestgaps_engine.models.export.quantize import quantize_int8, require_nncf

    require_nncf()
    out_xml = out_path / INT8_XML if out_path.suffix != ".xml" else out_path
    with tempfile.TemporaryDirectory(prefix="forestgaps-int8-") as folder:
        onnx_path = export_logits_onnx(loaded.model, Path(folder) / "model.onnx", opset=opset)
        return quantize_int8(loaded, onnx_path, calibration, out_xml, check=check)

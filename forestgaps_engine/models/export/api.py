"""One entry point for every export format (what the CLI and the plugin call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forestgaps_engine.errors import ModelError
from forestgaps_engine.models.export.result import ExportResult

EXPORT_FORMATS = ("onnx", "torchscript", "native")


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
) -> ExportResult:
    """Load a model and export it, checking parity with eager PyTorch.

    Args:
        model: model folder, card, weights file, ``"default"`` or ``LoadedModel``.
        out_path: ``.onnx`` / ``.pt`` file, or a folder for ``native``.
        format: ``onnx``, ``torchscript`` or ``native``.
        opset: ONNX opset (17 or newer).
        include_normalization: normalization inside the graph (onnx, torchscript).
        deepness: ONNX graph and metadata for the Deepness QGIS plugin (needs
            ``fixed_threshold_m``).
        fixed_threshold_m: bake this threshold into the ONNX graph, metres.
        tile_size_px: Deepness tile side, pixels.
        overlap_px: Deepness tile overlap, pixels.
        check: refuse an export that differs from eager PyTorch by more than 1e-4.

    Returns:
        The written path and the parity figures.

    Raises:
        ModelError: unknown format, options that do not fit the format, not a model,
            export failure or parity above 1e-4.
        DataError: the output cannot be written.
    """
    from forestgaps_engine.models.card import load_model

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
    loaded = load_model(model)
    if format == "onnx":
        from forestgaps_engine.models.export.onnx import export_onnx_checked

        return export_onnx_checked(
            loaded,
            out_path,
            opset=opset,
            include_normalization=include_normalization,
            deepness_metadata_keys=deepness,
            tile_size_px=tile_size_px,
            overlap_px=overlap_px,
            fixed_threshold_m=fixed_threshold_m,
            check=check,
        )
    if format == "torchscript":
        from forestgaps_engine.models.export.torchscript import export_torchscript_checked

        return export_torchscript_checked(loaded, out_path, include_normalization, check)
    from forestgaps_engine.models.export.native import export_native_checked

    return export_native_checked(loaded, out_path, check)

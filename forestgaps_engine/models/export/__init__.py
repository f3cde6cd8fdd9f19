"""Model export: ONNX, TorchScript and native model folders, each checked against eager PyTorch.

Exported ONNX and TorchScript graphs take raw DSM metres (normalization inside) and return
gap probabilities; see ``graph.GraphSpec`` for the variants.
"""

from forestgaps_engine.models.export.api import EXPORT_FORMATS, export_model
from forestgaps_engine.models.export.graph import ExportGraph, GraphSpec
from forestgaps_engine.models.export.native import export_native
from forestgaps_engine.models.export.onnx import export_logits_onnx, export_onnx
from forestgaps_engine.models.export.parity import check_parity
from forestgaps_engine.models.export.quantize import CalibrationWindows, quantize_int8
from forestgaps_engine.models.export.result import ExportResult
from forestgaps_engine.models.export.torchscript import export_torchscript, load_torchscript

__all__ = [
    "CalibrationWindows",
    "EXPORT_FORMATS",
    "ExportGraph",
    "ExportResult",
    "GraphSpec",
    "check_parity",
    "export_logits_onnx",
    "export_model",
    "export_native",
    "export_onnx",
    "export_torchscript",
    "load_torchscript",
    "quantize_int8",
]

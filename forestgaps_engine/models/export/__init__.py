"""Model export to ONNX, TorchScript, native model folders and int8 OpenVINO.

ONNX, TorchScript and native folders are each checked against eager PyTorch, int8 OpenVINO
models (``quantize``) against its gap masks.

Exported ONNX and TorchScript graphs take raw DSM metres (normalization inside) and return
gap probabilities; see ``graph.GraphSpec`` for the variants.

Names load lazily (PEP 562): ``inference`` reads the int8 constants and records of
``quantize`` on a torch-free install, so importing this package must not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "export_model": "api",
    "GraphSpec": "graph",
    "export_native": "native",
    "export_onnx": "onnx",
    "check_parity": "parity",
    "export_torchscript": "torchscript",
    "load_torchscript": "torchscript",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_NAMES[name]}")
    return getattr(module, name)

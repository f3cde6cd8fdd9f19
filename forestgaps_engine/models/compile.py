"""Optional ``torch.compile`` with a clean fall back to eager execution.

``torch.compile`` compiles lazily, so a missing C++ compiler or an unsupported backend only
shows on the first call. ``maybe_compile`` therefore runs one small warm-up forward and
returns the eager model, with a logged warning, when anything fails.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys

import torch
from torch import Tensor, nn

logger = logging.getLogger(__name__)

WARMUP_TILE_SIZE_PX = 64
WARMUP_THRESHOLD_M = 5.0


def compile_unsupported_reason(model: nn.Module) -> str | None:
    """Why ``torch.compile`` cannot work here, or ``None`` when it may.

    Known cases: no ``torch.compile`` (torch < 2.0), Windows, Apple MPS tensors, and CPU
    models without a C++ compiler (the inductor CPU backend generates C++).
    """
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile"
    if sys.platform == "win32":
        return "torch.compile's inductor backend is not supported on Windows here"
    parameter = next(model.parameters(), None)
    device_type = parameter.device.type if parameter is not None else "cpu"
    if device_type == "mps":
        return "torch.compile does not support Apple MPS tensors reliably"
    if device_type == "cpu":
        compilers = [os.environ.get("CXX"), "c++", "g++", "clang++"]
        if not any(name and shutil.which(name) for name in compilers):
            return "no C++ compiler found (set CXX or install g++/clang++)"
    return None


def _warmup_inputs(model: nn.Module) -> tuple[Tensor, Tensor]:
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    size = WARMUP_TILE_SIZE_PX
    dsm = torch.zeros(1, 1, size, size, device=device)
    return dsm, torch.full((1,), WARMUP_THRESHOLD_M, device=device)


def maybe_compile(
    model: nn.Module,
    enabled: bool,
    example_inputs: tuple[Tensor, Tensor] | None = None,
) -> nn.Module:
    """``torch.compile(model)`` when enabled and working, else ``model`` unchanged.

    The warm-up forward runs in eval mode under ``torch.no_grad`` (so BatchNorm statistics
    are untouched) and the model's train/eval mode is restored afterwards.

    Args:
        model: a registered model (or any module called as ``model(dsm, threshold_m)``).
        enabled: ``False`` returns ``model`` directly.
        example_inputs: ``(dsm, threshold_m)`` for the warm-up; default a 64 px tile.

    Returns:
        The compiled module (attributes such as ``name`` and ``config`` still resolve to
        the original model's) or the eager ``model`` when compilation is unavailable.
    """
    if not enabled:
        return model
    reason = compile_unsupported_reason(model)
    if reason is not None:
        logger.warning("torch.compile disabled: %s; running eagerly", reason)
        return model
    inputs = example_inputs if example_inputs is not None else _warmup_inputs(model)
    was_training = model.training
    try:
        compiled = torch.compile(model)
        model.eval()
        with torch.no_grad():
            compiled(*inputs)
    except Exception as error:  # noqa: BLE001 - any compiler failure means: run eagerly
        logger.warning(
            "torch.compile failed (%s: %s); running eagerly", type(error).__name__, error
        )
        return model
    finally:
        model.train(was_training)
    logger.info("model compiled with torch.compile")
    return compiled

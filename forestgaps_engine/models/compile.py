"""Whether ``torch.compile`` can work here, known before anything is compiled.

``torch.compile`` compiles lazily, so a missing C++ compiler or an unsupported backend only
shows on a call; the ``torch_compile`` inference backend
(``inference.backends.TorchCompileBackend``) asks here first and still falls back to eager
execution when a compiled call fails.
"""

from __future__ import annotations

import os
import shutil
import sys

from torch import nn


def compile_unsupported_reason(model: nn.Module) -> str | None:
    """Why ``torch.compile`` cannot work here, or ``None`` when it may.

    Known cases: Windows, Apple MPS tensors, and CPU models without a C++ compiler (the
    inductor CPU backend generates C++).
    """
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

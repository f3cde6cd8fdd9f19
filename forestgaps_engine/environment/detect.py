"""Pick the environment the process runs in, and check which model runtimes work here.

Environments are tried in order, first match wins, local last; the runtimes checked are
PyTorch, ONNX Runtime and OpenVINO.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from forestgaps_engine.environment.base import Environment
from forestgaps_engine.environment.colab import ColabEnvironment
from forestgaps_engine.environment.local import LocalEnvironment
from forestgaps_engine.environment.qgis import QgisEnvironment

logger = logging.getLogger(__name__)

CANDIDATES: tuple[type[Environment], ...] = (ColabEnvironment, QgisEnvironment, LocalEnvironment)


def detect_environment() -> Environment:
    """Return the active environment instance (never None: local is the fallback)."""
    environments = (candidate() for candidate in CANDIDATES)
    return next((environment for environment in environments if environment.is_active()),
                LocalEnvironment())  # fmt: skip


def activate_environment() -> Environment:
    """Detect the environment and apply its patches, logging each change."""
    environment = detect_environment()
    for change in environment.apply_patches():
        logger.info("%s environment: %s", environment.name, change)
    return environment


@dataclass(frozen=True)
class RuntimeStatus:
    """Whether one model runtime works here, its version and the devices it can use.

    Attributes:
        name: what users call it ("PyTorch", "ONNX Runtime", "OpenVINO").
        module: the module imported to check it.
        version: its version, or "" when it cannot be imported.
        devices: the devices it offers, e.g. ("CPU", "CUDA: NVIDIA H100").
        problem: why it does not work ("not installed", an import error); "" when it works.
    """

    name: str
    module: str
    version: str = ""
    devices: tuple[str, ...] = ()
    problem: str = ""

    @property
    def is_working(self) -> bool:
        """True when the runtime imported and reported its devices."""
        return not self.problem

    def describe(self) -> str:
        """Say e.g. "ONNX Runtime 1.32.0 (CPU)", or "OpenVINO: not installed"."""
        if self.problem:
            return f"{self.name}: {self.problem}"
        return f"{self.name} {self.version} ({', '.join(self.devices) or 'CPU'})"


def _torch_devices(torch: Any) -> tuple[str, ...]:
    devices = ["CPU"]
    if torch.cuda.is_available():
        devices += [
            f"CUDA: {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())
        ]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("Apple MPS")
    return tuple(devices)


def _onnxruntime_devices(onnxruntime: Any) -> tuple[str, ...]:
    # Azure's provider runs models remotely; it is not a device of this machine.
    providers = [p for p in onnxruntime.get_available_providers() if p != "AzureExecutionProvider"]
    return tuple(p.removesuffix("ExecutionProvider") for p in providers)


# (name, module, devices probe): the runtimes that can run a ForestGaps model.
RUNTIMES: tuple[tuple[str, str, Callable[[Any], tuple[str, ...]]], ...] = (
    ("PyTorch", "torch", _torch_devices),
    ("ONNX Runtime", "onnxruntime", _onnxruntime_devices),
    ("OpenVINO", "openvino", lambda openvino: tuple(openvino.Core().available_devices)),
)


def _check_runtime(
    name: str, module: str, probe: Callable[[Any], tuple[str, ...]]
) -> RuntimeStatus:
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as error:
        # A missing dependency of the runtime is a broken install, not an absent runtime.
        problem = "not installed" if error.name == module else f"cannot be imported ({error})"
        return RuntimeStatus(name, module, problem=problem)
    except Exception as error:  # noqa: BLE001 - a broken binary wheel raises anything
        return RuntimeStatus(name, module, problem=f"cannot be imported ({error})")
    version = str(getattr(imported, "__version__", "") or "").split("-")[0]
    try:
        devices = probe(imported)
    except Exception as error:  # noqa: BLE001 - a runtime that imports but cannot list devices
        return RuntimeStatus(name, module, version, problem=f"does not start ({error})")
    return RuntimeStatus(name, module, version, devices)


def detect_runtimes() -> tuple[RuntimeStatus, ...]:
    """Check PyTorch, ONNX Runtime and OpenVINO (imports each: call on demand only).

    Returns:
        One status per runtime, in the order above, working or not.
    """
    return tuple(_check_runtime(*runtime) for runtime in RUNTIMES)


def describe_runtimes(runtimes: tuple[RuntimeStatus, ...]) -> str:
    """A sentence on deep-learning prediction: available through which runtimes, or not.

    Args:
        runtimes: from :func:`detect_runtimes`.

    Returns:
        E.g. "Deep-learning prediction is available: ONNX Runtime 1.32.0 (CPU), OpenVINO
        2026.4.1 (CPU). PyTorch: not installed."
    """
    working = [runtime.describe() for runtime in runtimes if runtime.is_working]
    broken = [runtime.describe() for runtime in runtimes if not runtime.is_working]
    if working:
        text = "Deep-learning prediction is available: " + ", ".join(working) + "."
        return text + (" " + "; ".join(broken) + "." if broken else "")
    names = [runtime.name for runtime in runtimes]
    needed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)
    return f"Deep-learning prediction is unavailable: it needs {needed} ({'; '.join(broken)})."

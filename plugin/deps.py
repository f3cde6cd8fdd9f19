"""Make the bundled engine and its dependencies importable, and say what is missing.

QGIS runs its own Python (Debian's ``/usr/bin/python3``, OSGeo4W's, the macOS bundle's),
not the project's virtual environment, so the plugin puts on ``sys.path`` itself:

1. the folder that holds the bundled ``forestgaps_engine`` package (the plugin folder in the
   zip, the repository root in a checkout), so it wins over any other installed copy;
2. plugin-owned dependency folders: ``FORESTGAPS_DEPS_PATH`` (an ``os.pathsep``-separated
   list) when set, else ``<QGIS profile>/python/forestgaps_deps``.

Dependency checks use ``importlib.util.find_spec`` so nothing heavy (torch) is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

DEPS_PATH_ENV = "FORESTGAPS_DEPS_PATH"
DEPS_FOLDER_NAME = "forestgaps_deps"
ENGINE_PACKAGE = "forestgaps_engine"

# group -> ((importable module, pip distribution), ...); "core" is needed by every job.
DEPENDENCY_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "core": (
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("rasterio", "rasterio"),
        ("pydantic", "pydantic"),
        ("yaml", "pyyaml"),
    ),
    "torch": (("torch", "torch"),),
    "onnx": (("onnxruntime", "onnxruntime"),),
}
# Any one of these runs a deep-learning model: PyTorch, or an exported model.onnx through
# ONNX Runtime or OpenVINO (the engine picks the ONNX route when torch is absent).
MODEL_RUNTIMES: tuple[tuple[str, str], ...] = (
    ("torch", "torch"),
    ("onnxruntime", "onnxruntime"),
    ("openvino", "openvino"),
)
GROUP_PURPOSES = {
    "core": "every ForestGaps job",
    "torch": "deep-learning models (training and prediction)",
    "onnx": "prediction with exported ONNX models",
}


def bundled_engine_dir() -> Path:
    """The folder that contains the plugin package and, beside it, ``forestgaps_engine``."""
    return Path(__file__).resolve().parents[1]


def default_deps_dir() -> Path:
    """``<QGIS profile>/python/forestgaps_deps``, where a consented install puts packages."""
    from qgis.core import QgsApplication

    return Path(QgsApplication.qgisSettingsDirPath()) / "python" / DEPS_FOLDER_NAME


def dependency_dirs() -> list[Path]:
    """The plugin-owned dependency folders, in priority order.

    ``FORESTGAPS_DEPS_PATH`` replaces the default when set (an empty value means none).
    """
    configured = os.environ.get(DEPS_PATH_ENV)
    if configured is not None:
        return [Path(part) for part in configured.split(os.pathsep) if part.strip()]
    return [default_deps_dir()]


def ensure_engine_importable() -> list[str]:
    """Put the bundled engine folder, then the dependency folders, at the front of sys.path.

    Only folders that exist are added (a missing folder would be cached as "no finder" by
    the import system and stay invisible once created). Calling it again is harmless: our
    folders are moved back to the front in the same order.

    Returns:
        The folders now at the front of ``sys.path``, in order.
    """
    wanted: list[str] = []
    engine_dir = bundled_engine_dir()
    if (engine_dir / ENGINE_PACKAGE / "__init__.py").is_file():
        wanted.append(str(engine_dir))
    else:
        logger.warning("no bundled %s beside %s", ENGINE_PACKAGE, engine_dir)
    wanted.extend(str(folder) for folder in dependency_dirs() if folder.is_dir())
    wanted = list(dict.fromkeys(wanted))
    sys.path[:] = wanted + [entry for entry in sys.path if entry not in wanted]
    importlib.invalidate_caches()
    logger.debug("sys.path starts with %s", wanted)
    return wanted


def is_importable(module_name: str) -> bool:
    """True when ``module_name`` can be imported, without importing it.

    A module set to ``None`` in ``sys.modules`` counts as missing (that is how Python
    blocks an import, and how tests simulate an absent package).
    """
    if module_name in sys.modules:
        return sys.modules[module_name] is not None
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        return False


def missing_dependencies(groups: Iterable[str] = ("core", "torch", "onnx")) -> list[str]:
    """Pip names of the packages missing from ``groups`` (see DEPENDENCY_GROUPS).

    Args:
        groups: dependency groups to check; "core" is required, the others optional.

    Returns:
        Distribution names such as ``["pydantic", "torch"]``, in group order; empty when
        everything is importable.

    Raises:
        KeyError: a group name is unknown (the message lists the known ones).
    """
    missing: list[str] = []
    for group in groups:
        if group not in DEPENDENCY_GROUPS:
            raise KeyError(
                f"unknown dependency group {group!r}; known: {sorted(DEPENDENCY_GROUPS)}"
            )
        missing.extend(
            distribution
            for module_name, distribution in DEPENDENCY_GROUPS[group]
            if not is_importable(module_name)
        )
    return missing


def has_model_runtime() -> bool:
    """True when PyTorch, ONNX Runtime or OpenVINO can be imported (a model can run)."""
    return any(is_importable(module_name) for module_name, _ in MODEL_RUNTIMES)


def missing_groups() -> dict[str, list[str]]:
    """Each dependency group with at least one missing package -> its missing pip names."""
    report = {group: missing_dependencies([group]) for group in DEPENDENCY_GROUPS}
    return {group: names for group, names in report.items() if names}


def describe_missing(missing_by_group: dict[str, list[str]]) -> str:
    """A plain sentence per missing group, for the message bar and the Processing log."""
    if not missing_by_group:
        return "All ForestGaps dependencies are installed."
    folders = os.pathsep.join(str(folder) for folder in dependency_dirs())
    lines = [
        f"Missing for {GROUP_PURPOSES[group]}: {', '.join(names)}."
        for group, names in missing_by_group.items()
    ]
    lines.append(
        f"Install them into QGIS's Python, or with pip --target into {folders} "
        f"(or point {DEPS_PATH_ENV} at a folder that has them), then restart QGIS."
    )
    return " ".join(lines)

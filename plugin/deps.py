"""Make the bundled engine and its dependencies importable, and say what is missing.

QGIS runs its own Python (Debian's ``/usr/bin/python3``, OSGeo4W's, the macOS bundle's),
not the project's virtual environment, so the plugin puts on ``sys.path`` itself:

1. at the front, the folder that holds the bundled ``forestgaps_engine`` package (the
   plugin folder in the zip, the repository root in a checkout), so it wins over any other
   installed copy;
2. at the end, after QGIS's own packages, the plugin-owned dependency folders, so a package
   QGIS or another plugin imports (numpy, packaging, typing_extensions, protobuf) stays
   QGIS's own. They are ``FORESTGAPS_DEPS_PATH`` (an ``os.pathsep``-separated list) when
   set; else the folder named by the pointer ``<QGIS settings root>/forestgaps_deps_path.txt``
   (written by the installer), ``<QGIS settings root>/forestgaps_deps`` and, from installs
   before issue #22, ``<profile>/python/forestgaps_deps``.

The settings root is the folder holding ``profiles/``: every profile and ``qgis_process``
(which runs the default profile of the same root) find the same folder.

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
POINTER_NAME = "forestgaps_deps_path.txt"
ENGINE_PACKAGE = "forestgaps_engine"

# group -> ((importable module, pip distribution), ...); "core" is needed by every job.
DEPENDENCY_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "core": (
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("rasterio", "rasterio"),
        ("pydantic", "pydantic"),
        ("yaml", "pyyaml"),
        ("psutil", "psutil"),
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


def profile_dir() -> Path:
    """The active QGIS profile folder, ``<settings root>/profiles/<name>``."""
    from qgis.core import QgsApplication

    return Path(QgsApplication.qgisSettingsDirPath())


def settings_root() -> Path:
    """The QGIS settings root (the folder holding ``profiles/``), shared by every profile."""
    profile = profile_dir()
    return profile.parent.parent if profile.parent.name == "profiles" else profile


def default_deps_dir() -> Path:
    """``<QGIS settings root>/forestgaps_deps``, where a consented install puts packages."""
    return settings_root() / DEPS_FOLDER_NAME


def remembered_deps_dir() -> Path | None:
    """The folder named by the pointer file of the settings root, when it names an absolute
    path (an unreadable or relative pointer is ignored: it cannot be the installer's)."""
    try:
        text = (settings_root() / POINTER_NAME).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    folder = Path(text)
    return folder if text and folder.is_absolute() else None


def remember_deps_dir(folder: Path) -> Path:
    """Write the pointer file naming ``folder``, so qgis_process finds it without the env var.

    Written beside the file it replaces and renamed into place, so a reader never sees half.

    Returns:
        The pointer file.
    """
    pointer = settings_root() / POINTER_NAME
    pointer.parent.mkdir(parents=True, exist_ok=True)
    partial = pointer.with_name(f".{POINTER_NAME}.partial")
    partial.write_text(f"{Path(folder).resolve()}\n", encoding="utf-8")
    os.replace(partial, pointer)
    return pointer


def dependency_dirs() -> list[Path]:
    """The plugin-owned dependency folders, in priority order.

    ``FORESTGAPS_DEPS_PATH`` replaces the others when set (an empty value means none).
    """
    configured = os.environ.get(DEPS_PATH_ENV)
    if configured is not None:
        return [Path(part) for part in configured.split(os.pathsep) if part.strip()]
    folders = [remembered_deps_dir(), default_deps_dir()]
    # Installs made before issue #22 went into the profile; still read, never written.
    legacy = profile_dir() / "python" / DEPS_FOLDER_NAME
    folders.append(legacy if legacy.is_dir() else None)
    return list(dict.fromkeys(folder for folder in folders if folder is not None))


def ensure_engine_importable() -> list[str]:
    """Put the bundled engine folder first on sys.path and the dependency folders last.

    Only folders that exist are added (a missing folder would be cached as "no finder" by
    the import system and stay invisible once created). Calling it again is harmless: our
    folders are moved back to their places in the same order.

    Returns:
        The folders placed: the engine folder, then the dependency folders.
    """
    engine: list[str] = []
    engine_dir = bundled_engine_dir()
    if (engine_dir / ENGINE_PACKAGE / "__init__.py").is_file():
        engine.append(str(engine_dir))
    else:
        logger.warning("no bundled %s beside %s", ENGINE_PACKAGE, engine_dir)
    folders = [str(folder) for folder in dependency_dirs() if folder.is_dir()]
    folders = [folder for folder in dict.fromkeys(folders) if folder not in engine]
    placed = engine + folders
    sys.path[:] = engine + [entry for entry in sys.path if entry not in placed] + folders
    importlib.invalidate_caches()
    logger.debug("sys.path starts with %s and ends with %s", engine, folders)
    return placed


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

"""The consented dependency installer: which packages, which Python, which pip command.

Nothing here runs by itself: ``dialogs/deps_dialog.py`` shows the two sets, and only when
the user presses Install does it run the command built here (in a QProcess).

Choices, and why:

* Packages go into a plugin-owned folder with ``pip install --target`` (the first folder of
  ``deps.dependency_dirs()``, by default ``<QGIS settings root>/forestgaps_deps``, shared by
  every profile and by qgis_process), never into QGIS's own site-packages, so removing that
  folder undoes the install. Nothing is written or deleted outside it, except the pointer
  file ``<QGIS settings root>/forestgaps_deps_path.txt`` naming it.
* Packages QGIS's Python already has are not installed at all: ``deps_pip.py`` (run by that
  Python) resolves the requirements against its own environment, pinned by a constraints
  file (numpy, GDAL, pyproj, ... at the versions ``importlib.metadata`` reports), then
  installs only the planned rest with ``--no-deps``. Nothing is pruned afterwards, and the
  folder comes after QGIS's packages on ``sys.path`` anyway.
* The Python that runs pip must be the one QGIS embeds, yet inside QGIS ``sys.executable``
  is often the QGIS program itself. :func:`python_candidates` tries a ``sys.executable``
  that is a python, then by platform: Windows (OSGeo4W and the standalone installer)
  ``<prefix>/apps/Python3XY/python.exe`` beside ``<prefix>/bin/qgis-bin.exe``; macOS (the
  official bundle) ``QGIS.app/Contents/MacOS/bin/python3``; then the python of the
  ``sys`` prefixes and ``pythonX.Y``/``python3`` on PATH. :func:`find_python` keeps the
  first whose ``major.minor`` equals the running one (checked by running it).
* On Linux torch comes from the PyTorch CPU index (PyPI's Linux wheel pulls several GB of
  CUDA libraries); Windows and macOS wheels on PyPI are CPU builds already.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from forestgaps_engine.errors import ForestGapsError

from .deps import (
    default_deps_dir,
    dependency_dirs,
    ensure_engine_importable,
    is_importable,
    remember_deps_dir,
)

logger = logging.getLogger(__name__)

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CONSTRAINTS_NAME = "forestgaps_constraints.txt"
# Libraries QGIS installers ship with their Python; pinned when present so pip never
# replaces them (a second numpy would not match the one GDAL was built with).
QGIS_SHIPPED_DISTRIBUTIONS = (
    "numpy",
    "GDAL",
    "pyproj",
    "scipy",
    "shapely",
    "pandas",
    "matplotlib",
    "PyQt5",
    "psycopg2",
    "OWSLib",
    "Jinja2",
    "MarkupSafe",
    "Pygments",
    "requests",
    "urllib3",
    "certifi",
    "python-dateutil",
    "six",
)


@dataclass(frozen=True)
class InstallSet:
    """One choice offered to the user.

    Attributes:
        name: ``light`` or ``full``.
        title: the short label of the choice.
        purpose: what it enables, one sentence.
        size_note: download and disk size, in words.
        packages: ``(importable module, pip requirement)`` pairs; only missing ones install.
    """

    name: str
    title: str
    purpose: str
    size_note: str
    packages: tuple[tuple[str, str], ...]

    def missing_requirements(self) -> list[str]:
        """The pip requirements of this set whose module cannot be imported now."""
        return [requirement for module, requirement in self.packages if not is_importable(module)]


# scipy and rasterio are core needs that QGIS usually ships; listed so a bare Python
# still gets them, and skipped (not reinstalled) wherever QGIS has them.
LIGHT_PACKAGES: tuple[tuple[str, str], ...] = (
    ("psutil", "psutil"),
    ("scipy", "scipy"),
    ("rasterio", "rasterio"),
    ("onnxruntime", "onnxruntime"),
    ("pydantic", "pydantic>=2"),
    ("yaml", "pyyaml"),
    ("laspy", "laspy"),
    ("lazrs", "lazrs"),
)
FULL_EXTRA_PACKAGES: tuple[tuple[str, str], ...] = (
    ("torch", "torch"),
    ("kornia", "kornia"),
    ("tensorboard", "tensorboard"),
    ("safetensors", "safetensors"),
)
# Marked for pylupdate5; the dialog translates them when it shows them.
INSTALL_SETS: dict[str, InstallSet] = {
    "light": InstallSet(
        name="light",
        title=QT_TRANSLATE_NOOP("@default", "Light: prediction with ONNX models"),
        purpose=QT_TRANSLATE_NOOP(
            "@default", "Gap detection with ONNX models and the classic detector; no training."
        ),
        size_note=QT_TRANSLATE_NOOP(
            "@default", "About 30 MB to download, 100 MB on disk (ONNX Runtime is most of it)."
        ),
        packages=LIGHT_PACKAGES,
    ),
    "full": InstallSet(
        name="full",
        title=QT_TRANSLATE_NOOP("@default", "Full: PyTorch CPU, for training and every model"),
        purpose=QT_TRANSLATE_NOOP(
            "@default", "Light plus PyTorch (CPU), kornia, TensorBoard: training and any model."
        ),
        size_note=QT_TRANSLATE_NOOP(
            "@default", "About 250 MB to download, 1 GB on disk (PyTorch is most of it)."
        ),
        packages=LIGHT_PACKAGES + FULL_EXTRA_PACKAGES,
    ),
}


class InstallerError(ForestGapsError, RuntimeError):
    """The installer cannot run; ``hint`` says what to do instead."""


def install_target() -> Path:
    """The folder packages go into: the first plugin dependency folder."""
    folders = dependency_dirs()
    return folders[0] if folders else default_deps_dir()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def shipped_versions() -> dict[str, str]:
    """Distribution -> version for the QGIS-shipped libraries installed in this Python."""
    versions: dict[str, str] = {}
    for distribution in QGIS_SHIPPED_DISTRIBUTIONS:
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def constraints_text(versions: dict[str, str] | None = None) -> str:
    """The constraints file: one ``name==version`` line per shipped library present."""
    versions = shipped_versions() if versions is None else versions
    lines = ["# Written by the ForestGaps installer: libraries QGIS ships stay as they are."]
    lines.extend(f"{name}=={version}" for name, version in sorted(versions.items()))
    return "\n".join(lines) + "\n"


def write_constraints(target: Path) -> Path:
    """Write :func:`constraints_text` as ``forestgaps_constraints.txt`` inside ``target``.

    Written beside itself and renamed into place (the install folder is ours alone).
    """
    target.mkdir(parents=True, exist_ok=True)
    path = target / CONSTRAINTS_NAME
    partial = target / f".{CONSTRAINTS_NAME}.partial"
    partial.write_text(constraints_text(), encoding="utf-8")
    os.replace(partial, path)
    return path


def _python_version(candidate: Path) -> str | None:
    try:
        completed = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _windows_candidates(program: Path, version: str) -> list[Path]:
    """``<prefix>/apps/Python3XY/python.exe`` beside ``<prefix>/bin/qgis-bin.exe`` (OSGeo4W
    and the standalone installer), the running version's folder first, then any other."""
    apps = program.parent.parent / "apps"
    exact = apps / f"Python{version.replace('.', '')}" / "python.exe"
    others = sorted(apps.glob("Python3*/python.exe"), reverse=True) if apps.is_dir() else []
    return [exact, *others]


def _macos_candidates(program: Path, version: str) -> list[Path]:
    """``QGIS.app/Contents/MacOS/bin/python3`` beside ``Contents/MacOS/QGIS``."""
    return [program.parent / "bin" / f"python{version}", program.parent / "bin" / "python3"]


def python_candidates() -> list[Path]:
    """Interpreters that may be QGIS's Python, most likely first (see the module docstring)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    names = [f"python{version}", "python3", "python", "python.exe", "python3.exe"]
    candidates: list[Path] = []
    programs = [Path(p) for p in (sys.executable, getattr(sys, "_base_executable", None)) if p]
    candidates.extend(p for p in programs if p.name.lower().startswith("python"))
    for program in programs:
        if sys.platform == "win32":
            candidates.extend(_windows_candidates(program, version))
        elif sys.platform == "darwin":
            candidates.extend(_macos_candidates(program, version))
    prefixes = (sys.exec_prefix, sys.prefix, sys.base_exec_prefix, sys.base_prefix)
    for prefix in dict.fromkeys(prefixes):
        for sub in ("", "bin"):
            candidates.extend(Path(prefix) / sub / name for name in names)
    for name in names[:3]:
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    return list(dict.fromkeys(candidates))


def find_python() -> Path:
    """The first candidate that runs and has the running ``major.minor`` version.

    Raises:
        InstallerError: no matching interpreter was found.
    """
    wanted = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in python_candidates():
        if candidate.is_file() and _python_version(candidate) == wanted:
            return candidate
    raise InstallerError(
        f"no Python {wanted} found beside QGIS ({sys.executable})",
        f"install the packages with QGIS's own Python (OSGeo4W Shell on Windows): python -m "
        f"pip install --target {install_target()} <packages>, then restart QGIS",
    )


def build_pip_command(
    python: Path, target: Path, constraints: Path, requirements: list[str]
) -> list[str]:
    """``python deps_pip.py --target TARGET --constraints CONSTRAINTS -- REQUIREMENTS``.

    Args:
        python: the interpreter that runs pip (see :func:`find_python`).
        target: the plugin-owned dependency folder.
        constraints: the file written by :func:`write_constraints`.
        requirements: pip requirements, e.g. ``["onnxruntime", "pydantic>=2"]``.

    Returns:
        The argument list (program first), for QProcess or subprocess.
    """
    command = [
        str(python), str(Path(__file__).resolve().with_name("deps_pip.py")),
        "--target", str(target), "--constraints", str(constraints),
    ]  # fmt: skip
    if sys.platform.startswith("linux") and any(
        _normalized(re.split(r"[<>=!~ \[]", item)[0]) == "torch" for item in requirements
    ):
        command += ["--extra-index-url", TORCH_CPU_INDEX]
    return [*command, "--", *requirements]


def command_for_set(set_name: str, target: Path | None = None) -> list[str]:
    """The pip command installing what ``set_name`` misses into ``target``.

    Raises:
        KeyError: unknown set (the message lists ``light`` and ``full``).
        InstallerError: no suitable Python, or nothing to install.
    """
    if set_name not in INSTALL_SETS:
        raise KeyError(f"unknown install set {set_name!r}; known: {sorted(INSTALL_SETS)}")
    requirements = INSTALL_SETS[set_name].missing_requirements()
    if not requirements:
        raise InstallerError(
            f"every package of the {set_name} set is already installed", "nothing to do"
        )
    target = target or install_target()
    python = find_python()
    return build_pip_command(python, target, write_constraints(target), requirements)


def finish_install(target: Path) -> None:
    """After a successful install: remember ``target`` for qgis_process, make it importable
    now (no restart for pure-Python packages), after QGIS's own packages."""
    remember_deps_dir(target)
    ensure_engine_importable()
    if str(target) not in sys.path and target.is_dir():
        sys.path.append(str(target))
    importlib.invalidate_caches()

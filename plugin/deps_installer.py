"""The consented dependency installer: which packages, which Python, which pip command.

Nothing here runs by itself: ``dialogs/deps_dialog.py`` shows the two sets, and only when
the user presses Install does it run the command built here (in a QProcess).

Choices, and why:

* Packages go into a plugin-owned folder with ``pip install --target`` (the first folder of
  ``deps.dependency_dirs()``, by default ``<QGIS profile>/python/forestgaps_deps``), never
  into QGIS's own site-packages, so removing that folder undoes the install.
* A constraints file pins every library QGIS already ships (numpy, GDAL, pyproj, ... at the
  versions ``importlib.metadata`` reports in the running QGIS), so pip resolves against
  them. ``--target`` still copies pinned dependencies into the folder; :func:`prune_shipped`
  then deletes those copies, so QGIS's own numpy (built against its GDAL) stays the one
  imported even though the deps folder comes first on ``sys.path``.
* The Python that runs pip must be the one QGIS embeds, yet inside QGIS ``sys.executable``
  is often the ``qgis`` binary itself (Windows, macOS). :func:`find_python` tries, in
  order, ``sys.executable`` when it is a python, ``sys._base_executable``, the python of
  ``sys.exec_prefix``/``sys.prefix`` (OSGeo4W's ``python.exe``, the macOS bundle's
  ``bin/python3``), then ``pythonX.Y``/``python3`` on PATH, and keeps the first whose
  ``major.minor`` equals the running one (checked by running it).
* On Linux torch comes from the PyTorch CPU index (PyPI's Linux wheel pulls several GB of
  CUDA libraries); Windows and macOS wheels on PyPI are CPU builds already.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from qgis.PyQt.QtCore import QT_TRANSLATE_NOOP

from .deps import default_deps_dir, dependency_dirs, ensure_engine_importable, is_importable

logger = logging.getLogger(__name__)

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CONSTRAINTS_NAME = "forestgaps_constraints.txt"
# Libraries QGIS installers ship with their Python; pinned when present so pip never
# replaces them (a second numpy in the deps folder would shadow the one GDAL was built with).
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


class InstallerError(RuntimeError):
    """The installer cannot run; ``hint`` says what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(f"{message} (hint: {hint})")
        self.message = message
        self.hint = hint


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


def write_constraints(folder: Path) -> Path:
    """Write :func:`constraints_text` as ``forestgaps_constraints.txt`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONSTRAINTS_NAME
    path.write_text(constraints_text(), encoding="utf-8")
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


def python_candidates() -> list[Path]:
    """Interpreters that may be QGIS's Python, most likely first (see the module docstring)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    names = [f"python{version}", "python3", "python", "python.exe", "python3.exe"]
    candidates: list[Path] = []
    executable = Path(sys.executable) if sys.executable else None
    if executable is not None and executable.name.lower().startswith("python"):
        candidates.append(executable)
    base = getattr(sys, "_base_executable", None)
    if base and Path(base).name.lower().startswith("python"):
        candidates.append(Path(base))
    for prefix in dict.fromkeys((sys.exec_prefix, sys.prefix)):
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
        f"no Python {wanted} interpreter found beside QGIS (sys.executable={sys.executable})",
        f"install the packages by hand with QGIS's Python: python -m pip install --target "
        f"{install_target()} <packages>",
    )


def build_pip_command(
    python: Path, target: Path, constraints: Path, requirements: list[str]
) -> list[str]:
    """``python -m pip install --target TARGET -c CONSTRAINTS ... REQUIREMENTS``.

    Args:
        python: the interpreter that runs pip (see :func:`find_python`).
        target: the plugin-owned dependency folder.
        constraints: the file written by :func:`write_constraints`.
        requirements: pip requirements, e.g. ``["onnxruntime", "pydantic>=2"]``.

    Returns:
        The argument list (program first), for QProcess or subprocess.
    """
    command = [
        str(python), "-m", "pip", "install",
        "--target", str(target),
        "-c", str(constraints),
        "--upgrade", "--no-input", "--disable-pip-version-check", "--progress-bar", "off",
    ]  # fmt: skip
    if sys.platform.startswith("linux") and any(
        _normalized(re.split(r"[<>=!~ \[]", item)[0]) == "torch" for item in requirements
    ):
        command += ["--extra-index-url", TORCH_CPU_INDEX]
    return command + list(requirements)


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
    constraints = write_constraints(target.parent)
    return build_pip_command(find_python(), target, constraints, requirements)


def prune_shipped(target: Path, shipped: dict[str, str] | None = None) -> list[str]:
    """Delete from ``target`` the copies of libraries QGIS ships (pulled in as dependencies).

    Uses each ``*.dist-info/RECORD`` to find the files of a distribution.

    Returns:
        The distribution names removed.
    """
    shipped = shipped_versions() if shipped is None else shipped
    wanted = {_normalized(name) for name in shipped}
    removed: list[str] = []
    for info in sorted(target.glob("*.dist-info")):
        name = _normalized(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        if name not in wanted:
            continue
        record = info / "RECORD"
        lines = record.read_text("utf-8").splitlines() if record.is_file() else []
        tops = {line.split(",")[0].split("/")[0] for line in lines if line}
        for top in tops - {info.name}:
            path = target / top
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
        shutil.rmtree(info, ignore_errors=True)
        removed.append(name)
    if removed:
        logger.info("removed from %s the copies QGIS already ships: %s", target, removed)
    return removed


def activate(target: Path) -> None:
    """Make packages in ``target`` importable now (no restart for pure-Python ones)."""
    ensure_engine_importable()
    if str(target) not in sys.path and target.is_dir():
        sys.path.insert(1, str(target))
    importlib.invalidate_caches()

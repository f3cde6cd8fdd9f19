"""Qt5/Qt6 hygiene of plugin/: Qt only through qgis.PyQt, enums always fully scoped.

PyQt6 drops the unscoped enum aliases (``Qt.AlignLeft``); only the scoped form
(``Qt.AlignmentFlag.AlignLeft``) works on both. The check resolves every ``Class.Name``
written in plugin/ against the real classes: a ``Name`` that is an enum *value* is unscoped.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin"
ATTRIBUTE = re.compile(r"\b(Qt|Q[A-Z]\w*|Qgs\w*|Qgis)\.([A-Z]\w*)\b(?!\s*[.(])")
SCOPED = re.compile(r"\b(Qt|Q[A-Z]\w*|Qgs\w*|Qgis)\.([A-Z]\w*)\.([A-Z]\w*)\b(?!\s*[.(])")
DIRECT_BINDINGS = re.compile(r"^\s*(from|import)\s+(PyQt5|PyQt6|PySide2|PySide6|sip)\b", re.M)
MODULES = ("qgis.PyQt.QtCore", "qgis.PyQt.QtGui", "qgis.PyQt.QtWidgets", "qgis.core", "qgis.gui")


def python_files() -> list[Path]:
    return sorted(path for path in PLUGIN_DIR.rglob("*.py") if "__pycache__" not in path.parts)


def resolve_class(name: str) -> Any:
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            return getattr(module, name)
    return None


def test_plugin_imports_qt_only_through_qgis_pyqt() -> None:
    offenders = [
        f"{path.relative_to(PLUGIN_DIR)}: {match.group(0).strip()}"
        for path in python_files()
        for match in DIRECT_BINDINGS.finditer(path.read_text("utf-8"))
    ]
    assert offenders == []


def test_plugin_uses_scoped_enums_only(require_qgis: None) -> None:
    offenders: list[str] = []
    for path in python_files():
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for match in ATTRIBUTE.finditer(line):
                owner = resolve_class(match.group(1))
                if owner is None:
                    continue
                value = getattr(owner, match.group(2), None)
                if value is not None and not isinstance(value, type) and not callable(value):
                    offenders.append(f"{path.relative_to(PLUGIN_DIR)}:{number}: {match.group(0)}")
    assert offenders == [], "unscoped enums (write Class.Enum.Value):\n" + "\n".join(offenders)


def test_every_scoped_enum_in_the_plugin_exists_in_this_qt(require_qgis: None) -> None:
    scoped = [
        (path.relative_to(PLUGIN_DIR), match.groups())
        for path in python_files()
        for match in SCOPED.finditer(path.read_text("utf-8"))
        if resolve_class(match.group(1)) is not None
    ]
    assert len(scoped) > 5  # the dock, the tasks and the algorithms use scoped enums
    missing = [
        f"{path}: {'.'.join(names)}"
        for path, names in scoped
        if not hasattr(getattr(resolve_class(names[0]), names[1], None), names[2])
    ]
    assert missing == []


@pytest.mark.parametrize("snippet", ["Qt.AlignLeft", "QgsTask.CanCancel"])
def test_the_enum_check_catches_an_unscoped_value(require_qgis: None, snippet: str) -> None:
    match = ATTRIBUTE.search(snippet)
    assert match is not None
    value = getattr(resolve_class(match.group(1)), match.group(2))
    assert not isinstance(value, type) and not callable(value)

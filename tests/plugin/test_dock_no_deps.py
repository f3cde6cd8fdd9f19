"""The panel opens in a QGIS that has nothing but QGIS: no pydantic, torch, ONNX Runtime,
OpenVINO, rasterio, scipy or PyYAML (as Debian's QGIS ships).

The blocked packages are installed in the test's venv, so a fresh QGIS process is started
with a meta-path finder that makes importing them raise ModuleNotFoundError, as it would
on such a machine. That process clicks the real toolbar action of the real plugin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("pydantic", "torch", "onnxruntime", "openvino", "rasterio", "scipy", "yaml")

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    BLOCKED = set(sys.argv[2].split(","))

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    sys.path.insert(0, sys.argv[1])

    from pytest_qgis.mock_qgis_classes import MockMessageBar
    from pytest_qgis.qgis_interface import QgisInterface
    from qgis.core import QgsApplication
    from qgis.gui import QgsMapCanvas
    from qgis.PyQt.QtWidgets import QMainWindow

    app = QgsApplication([], True)
    app.initQgis()

    window = QMainWindow()
    iface = QgisInterface(QgsMapCanvas(window), MockMessageBar(), window)
    window.show()

    from plugin.plugin import ForestGapsPlugin

    plugin = ForestGapsPlugin(iface)
    plugin.initGui()
    installs = []
    plugin.show_install_dialog = lambda: installs.append(True)
    action = next(a for a in plugin.actions if a.objectName() == "forestgapsShowDock")
    action.trigger()
    action.trigger()  # a second click shows the same panel, again without an error
    dock = plugin.dock
    dock.install_button.click()
    dock.detect_button.click()
    report = {
        "dock_visible": dock.isVisible(),
        "notice_visible": dock.deps_notice.isVisible(),
        "notice": dock.deps_label.text(),
        "install_visible": dock.install_button.isVisible(),
        "install_clicked": len(installs),
        "model": dock.model_label.text(),
        "devices": dock.device_label.text(),
        "loaded": sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED),
    }
    plugin.unload()
    print("REPORT " + json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def bare_qgis_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the script in a fresh QGIS process with the dependencies blocked."""
    pytest.importorskip("qgis.core", reason="QGIS Python bindings are not installed")
    pytest.importorskip("pytest_qgis", reason="pytest-qgis provides the QgisInterface stub")
    home = tmp_path_factory.mktemp("home")  # a fresh QGIS profile and settings
    env = {
        **os.environ,
        "HOME": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "FORESTGAPS_DEPS_PATH": "",
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(REPO_ROOT), ",".join(BLOCKED)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("REPORT ")]
    assert completed.returncode == 0 and lines, completed.stdout + completed.stderr
    return json.loads(lines[-1].removeprefix("REPORT "))


def test_the_toolbar_button_opens_the_panel_without_any_engine_dependency(
    bare_qgis_report: dict[str, Any],
) -> None:
    assert bare_qgis_report["dock_visible"]
    assert bare_qgis_report["loaded"] == []


def test_the_panel_names_what_is_missing_and_offers_the_install(
    bare_qgis_report: dict[str, Any],
) -> None:
    notice = bare_qgis_report["notice"]
    assert bare_qgis_report["notice_visible"] and bare_qgis_report["install_visible"]
    for name in ("pydantic", "rasterio", "scipy", "pyyaml"):
        assert name in notice
    assert "PyTorch" in notice and "ONNX Runtime" in notice and "OpenVINO" in notice
    assert bare_qgis_report["install_clicked"] == 1


def test_the_model_and_device_lines_say_what_to_install(
    bare_qgis_report: dict[str, Any],
) -> None:
    assert "pydantic" in bare_qgis_report["model"]
    assert "Install dependencies" in bare_qgis_report["model"]
    devices = bare_qgis_report["devices"]
    assert "PyTorch, ONNX Runtime or OpenVINO" in devices
    assert "Install dependencies" in devices

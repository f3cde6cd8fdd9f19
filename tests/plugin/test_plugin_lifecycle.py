"""The unzipped plugin loads, starts and unloads in a real QGIS through qgis.utils."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

PLUGIN_NAME = PROVIDER_ID = "forestgaps"


def registry() -> Any:
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry()


@pytest.fixture
def recording_iface(qgis_iface: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """pytest-qgis's iface with the menu/toolbar calls recorded."""
    for method in ("addPluginToMenu", "removePluginMenu", "addToolBarIcon", "removeToolBarIcon"):
        monkeypatch.setattr(qgis_iface, method, MagicMock(name=method))
    return qgis_iface


def test_start_registers_provider_and_unload_removes_everything(
    recording_iface: Any, qgis_plugin_env: Any, plugins_dir: Path
) -> None:
    assert PLUGIN_NAME in qgis_plugin_env.available_plugins
    assert qgis_plugin_env.loadPlugin(PLUGIN_NAME)
    assert qgis_plugin_env.startPlugin(PLUGIN_NAME)
    plugin = qgis_plugin_env.plugins[PLUGIN_NAME]

    provider = registry().providerById(PROVIDER_ID)
    assert provider is not None and provider.name() == "ForestGaps"
    assert "forestgaps:gapsfromchm" in [alg.id() for alg in provider.algorithms()]
    # The engine is the bundled copy's folder: it comes first on sys.path.
    assert sys.path[0] == str(plugins_dir / PLUGIN_NAME)
    menu_actions = [call.args[1] for call in recording_iface.addPluginToMenu.call_args_list]
    assert len(menu_actions) == 5  # panel, classic detector, dependency check, installer, about
    assert recording_iface.addToolBarIcon.call_count == 1

    assert qgis_plugin_env.unloadPlugin(PLUGIN_NAME)
    assert registry().providerById(PROVIDER_ID) is None
    removed = [call.args[1] for call in recording_iface.removePluginMenu.call_args_list]
    assert removed == menu_actions
    assert recording_iface.removeToolBarIcon.call_count == len(menu_actions)
    assert plugin.actions == [] and plugin.provider is None
    assert not qgis_plugin_env.isPluginLoaded(PLUGIN_NAME)
    assert "forestgaps.plugin.plugin" not in sys.modules


def test_plugin_can_be_started_again_after_unload(qgis_plugin_env: Any) -> None:
    for _ in range(2):
        assert qgis_plugin_env.loadPlugin(PLUGIN_NAME)
        assert qgis_plugin_env.startPlugin(PLUGIN_NAME)
        assert registry().providerById(PROVIDER_ID) is not None
        assert qgis_plugin_env.unloadPlugin(PLUGIN_NAME)
        assert registry().providerById(PROVIDER_ID) is None


def test_plugin_starts_with_engine_dependencies_missing(
    qgis_plugin_env: Any, qgis_iface: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules is how Python blocks an import: as if the packages were absent.
    for module_name in ("torch", "pydantic", "rasterio", "onnxruntime"):
        monkeypatch.setitem(sys.modules, module_name, None)
    from qgis.core import Qgis

    assert qgis_plugin_env.loadPlugin(PLUGIN_NAME)
    assert qgis_plugin_env.startPlugin(PLUGIN_NAME)

    assert registry().providerById(PROVIDER_ID) is not None
    warnings = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning)
    assert len(warnings) == 1
    assert "pydantic" in warnings[0] and "rasterio" in warnings[0] and "torch" in warnings[0]
    assert "FORESTGAPS_DEPS_PATH" in warnings[0]


def test_plugin_start_says_nothing_when_core_dependencies_exist(
    started_plugin: Any, qgis_iface: Any
) -> None:
    from qgis.core import Qgis

    assert qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning) == []
    assert started_plugin.report_missing_dependencies().get("core") is None


START_WITHOUT_TORCH = """
import json, sys
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QMainWindow
from qgis.gui import QgsMapCanvas
from pytest_qgis.mock_qgis_classes import MockMessageBar
from pytest_qgis.qgis_interface import QgisInterface

app = QgsApplication([], False)
app.initQgis()
window = QMainWindow()
import qgis.utils
qgis.utils.iface = QgisInterface(QgsMapCanvas(window), MockMessageBar(), window)
sys.path.insert(0, sys.argv[1])
qgis.utils.plugin_paths = [sys.argv[1]]
qgis.utils.updateAvailablePlugins()
started = qgis.utils.loadPlugin("forestgaps") and qgis.utils.startPlugin("forestgaps")
provider = QgsApplication.processingRegistry().providerById("forestgaps")
algorithms = [a.id() for a in provider.algorithms()] if provider else []
heavy = [m for m in ("torch", "rasterio", "scipy", "onnxruntime", "pydantic") if m in sys.modules]
qgis.utils.unloadPlugin("forestgaps")
print(json.dumps({"started": started, "algorithms": algorithms, "heavy": heavy}))
app.exitQgis()
"""


def test_start_imports_no_torch_and_no_engine_dependency(
    require_qgis: None, plugins_dir: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FORESTGAPS_DEPS_PATH": ""}
    # QGIS writes a profile: keep the user's and pytest-qgis's intact.
    env.update(HOME=str(tmp_path), QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "qgis"))
    env.pop("QGIS_OPTIONS_PATH", None)
    result = subprocess.run(
        [sys.executable, "-c", START_WITHOUT_TORCH, str(plugins_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["started"] is True
    assert "forestgaps:gapsfromchm" in report["algorithms"]
    assert report["heavy"] == []

"""plugin/deps_installer.py and the dependency dialog: the pip command, the constraints and
one real offline install through the dialog (what stays outside the target:
test_deps_confined.py; finding QGIS's Python per platform: test_deps_python.py)."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.plugin.deps_support import use_profile


@pytest.fixture
def installer(require_qgis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    from plugin import deps_installer

    # Everything of both sets counts as missing, whatever this machine has.
    for _module, _requirement in deps_installer.INSTALL_SETS["full"].packages:
        monkeypatch.setitem(sys.modules, _module, None)
    monkeypatch.setattr(deps_installer, "find_python", lambda: Path(sys.executable))
    return deps_installer


def _requirements(command: list[str]) -> list[str]:
    return command[command.index("--") + 1 :]


def test_light_command_targets_the_deps_folder_with_constraints_and_no_torch(
    installer: ModuleType, tmp_path: Path
) -> None:
    target = tmp_path / "profile" / "forestgaps_deps"
    command = installer.command_for_set("light", target)

    assert command[:2] == [sys.executable, str(Path(installer.__file__).with_name("deps_pip.py"))]
    assert command[command.index("--target") + 1] == str(target)
    constraints = Path(command[command.index("--constraints") + 1])
    assert constraints.parent == target  # nothing is written outside the target
    assert f"numpy=={importlib.metadata.version('numpy')}" in constraints.read_text().splitlines()
    requirements = _requirements(command)
    assert {"onnxruntime", "pydantic>=2", "pyyaml", "laspy", "lazrs", "psutil"} <= set(requirements)
    assert "torch" not in requirements and "--extra-index-url" not in command


def test_full_command_adds_torch_cpu_kornia_tensorboard_safetensors(
    installer: ModuleType, tmp_path: Path
) -> None:
    command = installer.command_for_set("full", tmp_path / "deps")

    requirements = _requirements(command)
    assert {"torch", "kornia", "tensorboard", "safetensors", "onnxruntime"} <= set(requirements)
    if sys.platform.startswith("linux"):
        assert command[command.index("--extra-index-url") + 1] == installer.TORCH_CPU_INDEX


def test_installed_packages_are_left_out_and_unknown_sets_are_refused(
    require_qgis: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from plugin import deps_installer

    monkeypatch.setattr(deps_installer, "find_python", lambda: Path(sys.executable))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setattr(deps_installer, "is_importable", lambda name: name != "onnxruntime")
    assert _requirements(deps_installer.command_for_set("light", tmp_path)) == ["onnxruntime"]
    with pytest.raises(KeyError, match="light"):
        deps_installer.command_for_set("medium", tmp_path)


def test_constraints_pin_what_is_installed_only(require_qgis: None) -> None:
    from plugin.deps_installer import constraints_text

    text = constraints_text({"numpy": "1.24.2", "GDAL": "3.6.2"})
    assert text.splitlines()[1:] == ["GDAL==3.6.2", "numpy==1.24.2"]


def test_find_python_returns_this_interpreters_version(require_qgis: None) -> None:
    from plugin.deps_installer import _python_version, find_python

    assert _python_version(find_python()) == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_dialog_offers_both_sets_with_sizes(
    require_qgis: None, qgis_app: object, tmp_path: Path
) -> None:
    from plugin.dialogs.deps_dialog import DependencyDialog

    dialog = DependencyDialog(target=tmp_path / "deps")
    assert set(dialog.choice_buttons) == {"light", "full"}
    assert dialog.choice_buttons["light"].isChecked()
    assert "ONNX" in dialog.choice_buttons["light"].text()
    assert "PyTorch" in dialog.choice_buttons["full"].text()
    from qgis.PyQt.QtWidgets import QLabel

    details = dialog.findChild(QLabel, "details_full").text()
    assert "MB" in details and "GB" in details
    assert dialog.selected_set() == "light"
    dialog.deleteLater()


def test_dialog_runs_pip_offline_into_the_target_and_activates_it(
    require_qgis: None, qgis_app: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real pip run of a small wheel from the machine's local index, through the dialog."""
    from plugin import deps_installer
    from plugin.dialogs.deps_dialog import DependencyDialog

    monkeypatch.setattr(sys, "path", list(sys.path))
    use_profile(monkeypatch, tmp_path / "qgis" / "profiles" / "default")  # the pointer goes there
    target = tmp_path / "deps"
    constraints = deps_installer.write_constraints(target)
    command = deps_installer.build_pip_command(Path(sys.executable), target, constraints, ["tomli"])
    dialog = DependencyDialog(target=target)
    installed: list[str] = []
    dialog.installed.connect(installed.append)

    assert dialog.start_install(command)
    assert dialog.process.waitForFinished(120_000)
    if dialog.exit_code != 0 and "No matching distribution" in dialog.log_pane.toPlainText():
        pytest.skip("no local wheel of tomli on this machine")
    assert dialog.exit_code == 0, dialog.log_pane.toPlainText()
    assert (target / "tomli" / "__init__.py").is_file()
    assert installed == [str(target)] and sys.path[-1] == str(target)
    assert (tmp_path / "qgis" / "forestgaps_deps_path.txt").read_text().strip() == str(target)
    assert "Successfully installed" in dialog.log_pane.toPlainText()
    dialog.deleteLater()


def test_menu_and_dock_notice_open_the_installer_only_on_request(
    started_plugin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert started_plugin.deps_dialog is None  # starting QGIS installs and shows nothing
    dock = started_plugin.show_dock()
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    dock.refresh_dependency_notice()
    assert dock.deps_notice.isHidden()  # OpenVINO alone runs the exported model
    monkeypatch.setitem(sys.modules, "openvino", None)
    dock.refresh_dependency_notice()
    assert not dock.deps_notice.isHidden()
    assert "ONNX Runtime" in dock.deps_label.text()

    dock.install_button.click()
    dialog = started_plugin.deps_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.process is None  # shown, nothing started
    dialog.close()
    actions = {action.objectName(): action for action in started_plugin.actions}
    actions["forestgapsInstallDependencies"].trigger()
    assert started_plugin.deps_dialog is dialog and dialog.isVisible()

    monkeypatch.undo()
    dock.refresh_dependency_notice()
    assert dock.deps_notice.isHidden()

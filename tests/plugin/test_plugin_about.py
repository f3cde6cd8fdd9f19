"""The About entry: a dialog with the engine version, library versions, license and links."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.plugin.conftest import REPO_ROOT


def test_about_menu_action_shows_the_engine_version_and_license(started_plugin: Any) -> None:
    import importlib

    version = importlib.import_module("forestgaps_engine.version").__version__
    (action,) = [a for a in started_plugin.actions if a.objectName() == "forestgapsAbout"]
    assert action.text() == "About ForestGaps"

    action.trigger()

    dialog = started_plugin.about_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text_label.text()
    assert f"<b>{version}</b>" in text
    assert "GPL-2.0-or-later" in text  # license from the zip's metadata.txt
    # metadata.txt names no links until the project has a public repository.
    assert "<a href" not in text
    assert "QGIS" in text and "torch" in text
    started_plugin.unload()
    assert started_plugin.about_dialog is None


def test_about_text_reads_versions_without_importing_torch(require_qgis: None) -> None:
    import importlib.metadata

    # A fresh interpreter: this test process has torch loaded already.
    code = (
        "import sys\n"
        "from qgis.core import QgsApplication\n"
        "app = QgsApplication([], False)\n"
        "from plugin.dialogs.about_dialog import about_html, package_version\n"
        "about_html()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(package_version('torch'), package_version('no-such-package'), sep='|')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )

    assert result.returncode == 0, result.stderr
    torch_version, missing = result.stdout.strip().splitlines()[-1].split("|")
    assert torch_version == importlib.metadata.version("torch")
    assert missing == "not installed"


def test_about_is_translated_in_french(qgis_plugin_env: Any) -> None:
    from qgis.core import QgsSettings

    settings = QgsSettings()
    previous = settings.value("locale/userLocale", None)
    settings.setValue("locale/userLocale", "fr_FR")
    try:
        assert qgis_plugin_env.loadPlugin("forestgaps")
        assert qgis_plugin_env.startPlugin("forestgaps")
        plugin = qgis_plugin_env.plugins["forestgaps"]
        texts = {action.objectName(): action.text() for action in plugin.actions}
        assert texts["forestgapsAbout"] == "À propos de ForestGaps"
        assert plugin.show_about().windowTitle() == "À propos de ForestGaps"
        assert plugin.show_dock().server_edit.placeholderText() == (
            "vide : exécuter sur cet ordinateur"
        )
    finally:
        if previous is None:
            settings.remove("locale/userLocale")
        else:
            settings.setValue("locale/userLocale", previous)

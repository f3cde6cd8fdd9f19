"""The plugin speaks the language QGIS is set to (locale/userLocale): French or English."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PLUGIN_NAME = "forestgaps"
I18N_DIR = Path(__file__).resolve().parents[2] / "plugin" / "i18n"


@pytest.fixture
def set_locale(require_qgis: None) -> Iterator[Callable[[str], None]]:
    """Set QGIS's locale/userLocale for the test; the previous value comes back after."""
    from qgis.core import QgsSettings

    settings = QgsSettings()
    previous = settings.value("locale/userLocale", None)
    yield lambda locale: settings.setValue("locale/userLocale", locale)
    if previous is None:
        settings.remove("locale/userLocale")
    else:
        settings.setValue("locale/userLocale", previous)


def start(utils: Any) -> Any:
    assert utils.loadPlugin(PLUGIN_NAME)
    assert utils.startPlugin(PLUGIN_NAME)
    return utils.plugins[PLUGIN_NAME]


def texts(plugin: Any) -> dict[str, str]:
    from qgis.core import QgsApplication

    actions = {action.objectName(): action.text() for action in plugin.actions}
    dock = plugin.show_dock()
    algorithm = QgsApplication.processingRegistry().algorithmById("forestgaps:gapsfromchm")
    return {
        "menu": actions["forestgapsShowDock"],
        "install": actions["forestgapsInstallDependencies"],
        "run": dock.run_button.text(),
        "cancel": dock.cancel_button.text(),
        "algorithm": algorithm.displayName(),
        "group": algorithm.group(),
    }


def test_french_locale_translates_menu_dock_and_algorithms(
    set_locale: Callable[[str], None], qgis_plugin_env: Any
) -> None:
    from qgis.PyQt.QtCore import QCoreApplication

    set_locale("fr_FR")
    shown = texts(start(qgis_plugin_env))

    assert shown == {
        "menu": "Détecter les trouées (panneau)…",
        "install": "Installer les dépendances…",
        "run": "Exécuter",
        "cancel": "Annuler",
        "algorithm": "Trouées depuis un MNH (classique, identique à ForestGapR)",
        "group": "Détection des trouées",
    }
    qgis_plugin_env.unloadPlugin(PLUGIN_NAME)
    # unload removes the translator: QGIS's other texts are not affected afterwards
    assert QCoreApplication.translate("@default", "Run") == "Run"


def test_english_locale_keeps_the_english_texts(
    set_locale: Callable[[str], None], qgis_plugin_env: Any
) -> None:
    set_locale("en_US")
    shown = texts(start(qgis_plugin_env))

    assert shown["menu"] == "Detect gaps (panel)…"
    assert shown["run"] == "Run"
    assert shown["algorithm"] == "Gaps from CHM (classic, ForestGapR-exact)"


def test_every_french_message_is_translated_and_keeps_its_placeholders() -> None:
    root = ET.parse(I18N_DIR / "forestgaps_fr.ts").getroot()
    messages = list(root.iter("message"))
    assert len(messages) > 100
    assert (I18N_DIR / "forestgaps_fr.qm").is_file()
    for message in messages:
        source = message.findtext("source")
        translation = message.find("translation")
        assert translation.get("type") is None and translation.text, source
        for placeholder in ("{0}", "{1}", "{2}"):
            assert (placeholder in source) == (placeholder in translation.text), source

"""Install the plugin's Qt translation for the language QGIS is set to, and remove it.

Translations live in ``plugin/i18n/forestgaps_<lang>.qm`` (built from the ``.ts`` sources
by ``make i18n``). QGIS's own language setting is ``locale/userLocale`` (e.g. ``fr_FR``);
when it is empty QGIS follows the system locale, and so does this.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

logger = logging.getLogger(__name__)

I18N_DIR = Path(__file__).resolve().parent / "i18n"
FILE_PREFIX = "forestgaps_"


def qgis_language() -> str:
    """Two-letter language of the QGIS interface, e.g. ``fr`` (``en`` by default)."""
    locale = str(QgsSettings().value("locale/userLocale", "") or "") or QLocale.system().name()
    return (locale[:2] or "en").lower()


def translation_file(language: str) -> Path | None:
    """``i18n/forestgaps_<language>.qm`` when it exists (English needs none)."""
    path = I18N_DIR / f"{FILE_PREFIX}{language}.qm"
    return path if path.is_file() else None


def install_translator(language: str | None = None) -> QTranslator | None:
    """Load and install the translation of ``language`` (default: QGIS's).

    Returns:
        The installed translator (keep it, and pass it to :func:`remove_translator` on
        unload), or None when the language has no translation.
    """
    language = language or qgis_language()
    path = translation_file(language)
    if path is None:
        return None
    translator = QTranslator()
    if not translator.load(str(path)):
        logger.warning("cannot load the translation %s", path)
        return None
    QCoreApplication.installTranslator(translator)
    return translator


def remove_translator(translator: QTranslator | None) -> None:
    """Undo :func:`install_translator` (None is accepted and ignored)."""
    if translator is not None:
        QCoreApplication.removeTranslator(translator)


def tr(text: str) -> str:
    """Translate ``text`` in the ``@default`` context, where pylupdate5 files bare ``tr()``."""
    return QCoreApplication.translate("@default", text)

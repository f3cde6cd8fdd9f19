"""``AboutDialog``: ForestGaps version, the versions it runs with, license and links.

Versions come from package metadata (``importlib.metadata``), read when the dialog opens,
so showing it imports no torch; the ForestGaps version is ``forestgaps_engine.version``.
"""

from __future__ import annotations

import configparser
import html
import importlib.metadata
import logging
import platform
from pathlib import Path

from qgis.core import Qgis
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ..translation import tr

logger = logging.getLogger(__name__)

# Packages whose versions matter when reporting a problem (pip names).
REPORTED_PACKAGES = ("torch", "onnxruntime", "numpy", "rasterio")
LINK_KEYS = ("homepage", "repository", "tracker")


def metadata_file() -> Path | None:
    """``metadata.txt`` beside the ``plugin`` package (the zip's root, or the repository's)."""
    candidate = Path(__file__).resolve().parents[2] / "metadata.txt"
    return candidate if candidate.is_file() else None


def plugin_metadata() -> dict[str, str]:
    """The ``[general]`` section of ``metadata.txt`` (empty when it cannot be read)."""
    path = metadata_file()
    if path is None:
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
        return dict(parser["general"])
    except (configparser.Error, KeyError, OSError) as error:
        logger.warning("cannot read %s: %s", path, error)
        return {}


def package_version(name: str) -> str:
    """Installed version of the pip package ``name`` (no import), or "not installed"."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return tr("not installed")


def engine_version() -> str:
    """``forestgaps_engine.version.__version__`` (a one-line module, nothing heavy)."""
    from forestgaps_engine.version import __version__

    return __version__


def about_html() -> str:
    """The dialog's text: versions, license and links, as simple HTML."""
    metadata = plugin_metadata()
    rows = [
        (tr("ForestGaps version"), engine_version()),
        ("QGIS", Qgis.version()),
        ("Python", platform.python_version()),
        *((name, package_version(name)) for name in REPORTED_PACKAGES),
        (tr("License"), metadata.get("license", "")),
    ]
    table = "".join(
        f"<tr><td>{html.escape(label)}</td><td><b>{html.escape(value)}</b></td></tr>"
        for label, value in rows
    )
    links = "".join(
        f'<li>{html.escape(key)}: <a href="{html.escape(metadata[key])}">'
        f"{html.escape(metadata[key])}</a></li>"
        for key in LINK_KEYS
        if metadata.get(key)
    )
    description = html.escape(metadata.get("description", ""))
    return f"<h3>ForestGaps</h3><p>{description}</p><table>{table}</table>" + (
        f"<ul>{links}</ul>" if links else ""
    )


class AboutDialog(QDialog):
    """Shows :func:`about_html` with clickable links and a Close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("About ForestGaps"))
        self.setObjectName("ForestGapsAboutDialog")
        self.text_label = QLabel(about_html())
        self.text_label.setObjectName("aboutText")
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setOpenExternalLinks(True)
        self.text_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_label)
        layout.addWidget(buttons)

"""Paths to the files shipped under resources/ (icons, styles), wherever the plugin lives."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtGui import QIcon

# The plugin package sits beside resources/ both in a checkout and in the zip.
RESOURCES_DIR = Path(__file__).resolve().parents[1] / "resources"
ICON_PATH = RESOURCES_DIR / "icons" / "forestgaps.svg"
STYLES_DIR = RESOURCES_DIR / "styles"


def plugin_icon() -> QIcon:
    """The ForestGaps icon (an empty icon if the file is missing, never an error)."""
    return QIcon(str(ICON_PATH))


def style_path(name: str) -> Path:
    """Path of ``resources/styles/<name>.qml`` (e.g. ``gap_mask``)."""
    return STYLES_DIR / f"{name}.qml"

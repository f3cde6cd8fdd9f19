"""What every ForestGaps Processing algorithm shares: translation, icon, instance creation."""

from __future__ import annotations

from qgis.core import QgsProcessingAlgorithm
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..resources import plugin_icon


class ForestGapsAlgorithm(QgsProcessingAlgorithm):
    """Base of the provider's algorithms; subclasses define parameters and one engine call."""

    def tr(self, text: str) -> str:
        """Translate ``text`` in the subclass's context (as pylupdate5 records it)."""
        return QCoreApplication.translate(type(self).__name__, text)

    def icon(self) -> QIcon:
        return plugin_icon()

    def createInstance(self) -> ForestGapsAlgorithm:  # name fixed by QGIS
        return type(self)()

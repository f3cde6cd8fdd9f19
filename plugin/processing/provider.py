"""The ForestGaps Processing provider: finds one algorithm per module of this package."""

from __future__ import annotations

import logging
import pkgutil
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsProcessingAlgorithm, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..resources import ICON_PATH, plugin_icon

logger = logging.getLogger(__name__)

PROVIDER_ID = "forestgaps"
# Modules of this package that are not algorithms; helpers start with "_".
NON_ALGORITHM_MODULES = {"provider"}


def algorithm_module_names() -> list[str]:
    """Names of the algorithm modules in this package, sorted (each defines ``ALGORITHM``)."""
    package_dir = Path(__file__).resolve().parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(package_dir)])
        if info.name not in NON_ALGORITHM_MODULES and not info.name.startswith("_")
    )


def algorithm_classes() -> list[type[QgsProcessingAlgorithm]]:
    """Import every algorithm module and return its ``ALGORITHM`` class.

    A module that fails to import is logged and skipped so one broken algorithm never
    takes the provider (or QGIS) down with it.
    """
    classes: list[type[QgsProcessingAlgorithm]] = []
    for name in algorithm_module_names():
        qualified = f"{__package__}.{name}"
        try:
            # builtins.__import__, not importlib: qgis.utils hooks it to record the plugin's
            # modules and drop them from sys.modules when the plugin is unloaded.
            module = __import__(qualified, fromlist=["ALGORITHM"])
            classes.append(module.ALGORITHM)
        except Exception as error:  # boundary: report it, keep the provider alive
            message = f"ForestGaps: algorithm module {qualified} not loaded: {error!r}"
            logger.exception(message)
            QgsMessageLog.logMessage(message, "ForestGaps", Qgis.MessageLevel.Critical)
    return classes


class ForestGapsProvider(QgsProcessingProvider):
    """Processing provider ``forestgaps`` ("ForestGaps") with the engine's algorithms."""

    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return "ForestGaps"

    def longName(self) -> str:
        from forestgaps_engine.version import __version__

        return f"ForestGaps {__version__}"

    def icon(self) -> QIcon:
        return plugin_icon()

    def svgIconPath(self) -> str:
        return str(ICON_PATH)

    def loadAlgorithms(self) -> None:
        for algorithm_class in algorithm_classes():
            self.addAlgorithm(algorithm_class())

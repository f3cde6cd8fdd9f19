"""Runtime environments (local, Colab, QGIS) and their detection."""

from forestgaps_engine.environment.colab import ColabEnvironment
from forestgaps_engine.environment.detect import activate_environment, detect_environment
from forestgaps_engine.environment.local import LocalEnvironment
from forestgaps_engine.environment.qgis import QgisEnvironment

__all__ = [
    "ColabEnvironment",
    "LocalEnvironment",
    "QgisEnvironment",
    "activate_environment",
    "detect_environment",
]

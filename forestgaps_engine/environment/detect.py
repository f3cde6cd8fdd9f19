"""Pick the environment the process runs in (first match wins, local last)."""

from __future__ import annotations

import logging

from forestgaps_engine.environment.base import Environment
from forestgaps_engine.environment.colab import ColabEnvironment
from forestgaps_engine.environment.local import LocalEnvironment
from forestgaps_engine.environment.qgis import QgisEnvironment

logger = logging.getLogger(__name__)

CANDIDATES: tuple[type[Environment], ...] = (ColabEnvironment, QgisEnvironment, LocalEnvironment)


def detect_environment() -> Environment:
    """Return the active environment instance (never None: local is the fallback)."""
    for candidate in CANDIDATES:
        environment = candidate()
        if environment.is_active():
            return environment
    return LocalEnvironment()


def activate_environment() -> Environment:
    """Detect the environment and apply its patches, logging each change."""
    environment = detect_environment()
    for change in environment.apply_patches():
        logger.info("%s environment: %s", environment.name, change)
    return environment

"""Show engine and plugin log records in QGIS's Log Messages panel (tab "ForestGaps")."""

from __future__ import annotations

import logging

from qgis.core import Qgis, QgsMessageLog

LOG_TAG = "ForestGaps"
# The plugin package is "plugin" in a checkout and "forestgaps.plugin" in the zip.
LOGGER_NAMES = ("forestgaps_engine", __name__.rpartition(".")[0])


def _qgis_level(levelno: int) -> Qgis.MessageLevel:
    if levelno >= logging.ERROR:
        return Qgis.MessageLevel.Critical
    if levelno >= logging.WARNING:
        return Qgis.MessageLevel.Warning
    return Qgis.MessageLevel.Info


class QgisLogHandler(logging.Handler):
    """A logging handler writing to QgsMessageLog (thread-safe, usable from QgsTask.run)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.previous_levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            QgsMessageLog.logMessage(self.format(record), LOG_TAG, _qgis_level(record.levelno))
        except Exception:  # a log line must never break the job that wrote it
            self.handleError(record)


def install(level: int = logging.INFO) -> QgisLogHandler:
    """Attach one handler to the ForestGaps loggers; pass it to :func:`uninstall` later."""
    handler = QgisLogHandler(level)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        handler.previous_levels[name] = logger.level
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    return handler


def uninstall(handler: QgisLogHandler) -> None:
    """Detach ``handler`` from the ForestGaps loggers and restore their levels."""
    for name, level in handler.previous_levels.items():
        logger = logging.getLogger(name)
        logger.removeHandler(handler)
        logger.setLevel(level)

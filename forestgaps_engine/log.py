"""Logging configured once for the whole engine: readable text or JSON lines, optional file."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

LOG_FORMATS = ("human", "json")
_HANDLER_TAG = "_forestgaps_handler"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (+ exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object on one line."""
        payload = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(
    level: int | str = logging.INFO,
    log_format: str = "human",
    log_file: str | Path | None = None,
) -> logging.Logger:
    """Configure the ``forestgaps_engine`` logger; calling it again replaces the handlers.

    Args:
        level: console level (DEBUG shows tracebacks of handled errors).
        log_format: ``"human"`` or ``"json"`` (one JSON object per line).
        log_file: if given, every record down to DEBUG is appended there, always as JSON lines.

    Returns:
        The configured package logger.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log_format {log_format!r} is not one of {LOG_FORMATS}")
    root = logging.getLogger("forestgaps_engine")
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_TAG, False)]:
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    human = logging.Formatter("%(levelname)s: %(message)s")
    console.setFormatter(JsonLineFormatter() if log_format == "json" else human)
    setattr(console, _HANDLER_TAG, True)
    root.addHandler(console)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(JsonLineFormatter())
        setattr(file_handler, _HANDLER_TAG, True)
        root.addHandler(file_handler)
    root.setLevel(logging.DEBUG)
    root.propagate = False
    return root

"""HTTP errors of the service: a status, a message and a hint, never a server path.

Engine errors name the files they failed on; on the server those are private temporary
paths, so every message is scrubbed (each private path replaced by the name the client
knows, e.g. the uploaded file name) before it leaves the process.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from forestgaps_engine.errors import CancelledError, ConfigError, DataError, ForestGapsError

logger = logging.getLogger(__name__)

HIDDEN_PATH = "<server>"


class ServiceError(Exception):
    """An error answered as ``{"error": message, "hint": hint}`` with ``status``.

    Args:
        status: HTTP status code.
        message: what is wrong, naming the field or the uploaded file.
        hint: how the client fixes it.
        headers: extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self, status: int, message: str, hint: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.headers = dict(headers or {})


@dataclass
class Scrubber:
    """Replaces server paths in text by client-facing names (longest path first).

    Attributes:
        replacements: server path -> what the client may see.
    """

    replacements: dict[str, str] = field(default_factory=dict)

    def add(self, server_path: object, shown_as: str) -> None:
        """Hide ``server_path`` (and its resolved form) behind ``shown_as``."""
        from pathlib import Path

        text = str(server_path)
        # A root or one-letter path would turn ordinary text into noise.
        if len(text.strip("/\\")) > 1:
            self.replacements[text] = shown_as
            self.replacements.setdefault(str(Path(text).resolve()), shown_as)

    def __call__(self, text: str) -> str:
        """``text`` with every known server path replaced."""
        for server_path in sorted(self.replacements, key=len, reverse=True):
            text = text.replace(server_path, self.replacements[server_path])
        return text


def from_engine_error(error: ForestGapsError, scrub: Scrubber) -> ServiceError:
    """The HTTP answer to an engine error: client mistakes are 4xx, the rest 5xx."""
    statuses = ((ConfigError, 422), (DataError, 400), (CancelledError, 503))
    status = next((code for kind, code in statuses if isinstance(error, kind)), 500)
    return ServiceError(status, scrub(error.message), scrub(error.hint))


def internal_error(error: BaseException) -> ServiceError:
    """A bug: log it fully on the server, tell the client nothing about its internals."""
    logger.exception("internal error while serving a request", exc_info=error)
    return ServiceError(
        500,
        f"internal error ({type(error).__name__})",
        "This is a bug in the ForestGaps service; the server log has the details.",
    )

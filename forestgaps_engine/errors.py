"""The ForestGapsError tree and the one ErrorHandler used by the CLI and the plugin.

Every error a user can cause says what is wrong (the file, the value) and how to fix it.
Subclasses also inherit the matching builtin so callers may catch either.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


class ForestGapsError(Exception):
    """Root of every error ForestGaps raises on purpose.

    Args:
        message: what went wrong, naming the file and the offending value.
        hint: how the user can fix it (one sentence).
    """

    default_hint = "Run with --debug for the full traceback."

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(ForestGapsError, ValueError):
    """A configuration file or override is invalid."""

    default_hint = "Check the key against configs/defaults.yaml."


def require_package(module: str, needed_by: str, install_hint: str, shown_as: str = "") -> Any:
    """The optional dependency ``module``, else a ConfigError: what needs it, how to install it.

    ``needed_by`` is what the user asked for, in their words (``tuning``); ``shown_as`` names
    the package in the message when the module's name would not (``dask.distributed``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigError(
            f"{needed_by} needs {shown_as or module}, which is not installed ({error})",
            hint=install_hint,
        ) from error


class DataError(ForestGapsError, ValueError):
    """An input dataset cannot be used as given."""

    default_hint = "Check the input file."


class InvalidDataFormatError(DataError):
    """A file is not the kind of raster or point cloud that was expected."""


class CRSMismatchError(DataError):
    """Inputs cannot be brought onto one grid (no overlap, missing or unusable CRS)."""


class EmptyRasterError(DataError):
    """A raster holds no valid cell."""


class ModelError(ForestGapsError, ValueError):
    """A model name, config or file is invalid."""


class TrainingError(ForestGapsError, RuntimeError):
    """Training cannot go on."""


class OutOfMemoryError(TrainingError, MemoryError):
    """The device ran out of memory."""

    default_hint = "Lower training.batch_size (or data.tile_size_px) and try again."


class InferenceError(ForestGapsError, RuntimeError):
    """Prediction failed."""


class BatchError(DataError):
    """Some inputs of a batch failed; the others finished.

    Attributes:
        results: what the inputs that finished produced, in order.
        failures: (input path, its error) for each input that failed.
    """

    default_hint = "Fix or remove the files named and run again; the others' outputs stay."

    def __init__(
        self,
        message: str,
        results: list | None = None,
        failures: list | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.results = list(results or [])
        self.failures = list(failures or [])


class CancelledError(ForestGapsError):
    """The user cancelled a running job; partial outputs were removed."""

    default_hint = "Nothing was written; start the job again when ready."


@dataclass(frozen=True)
class ErrorReport:
    """What a front end shows for one exception."""

    message: str
    hint: str
    details: str
    exit_code: int
    is_user_error: bool


class ErrorHandler:
    """Turns exceptions into a one-line message, a hint and an exit code.

    User errors (``ForestGapsError``) exit with code 2; anything else is a bug and exits
    with 1. The full traceback goes to the log at DEBUG level (and to a log file when one
    is configured), never to the user's terminal unless logging runs at DEBUG (``--debug``).
    """

    USER_ERROR_EXIT_CODE = 2
    INTERNAL_ERROR_EXIT_CODE = 1

    def report(self, error: BaseException) -> ErrorReport:
        """Build the report for ``error`` without side effects."""
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        if isinstance(error, ForestGapsError):
            return ErrorReport(
                message=error.message,
                hint=error.hint,
                details=details,
                exit_code=self.USER_ERROR_EXIT_CODE,
                is_user_error=True,
            )
        return ErrorReport(
            message=f"Internal error: {type(error).__name__}: {error}",
            hint="This is a bug in ForestGaps; please report it with the log file.",
            details=details,
            exit_code=self.INTERNAL_ERROR_EXIT_CODE,
            is_user_error=False,
        )

    def handle(self, error: BaseException) -> ErrorReport:
        """Log ``error`` (message at ERROR, traceback at DEBUG) and return its report."""
        report = self.report(error)
        logger.error("%s", report.message)
        logger.error("hint: %s", report.hint)
        # DEBUG reaches the console only with --debug; a log file always records it.
        logger.debug("%s", report.details)
        return report

"""The boundary between a Processing algorithm and one engine call.

Checks the dependencies first, wires QGIS feedback to the engine's progress/cancel
protocol, and turns every error into a ``QgsProcessingException`` carrying the message and
the hint, so a failed job is a red line in the log and never a crash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from qgis.core import QgsProcessingException, QgsProcessingFeedback

from ..deps import describe_missing, has_model_runtime, missing_dependencies
from ..messages import is_user_error, summary_line, traceback_text

ResultT = TypeVar("ResultT")


def require_dependencies(groups: tuple[str, ...] = ("core",)) -> None:
    """Raise a QgsProcessingException naming what is missing from ``groups``.

    Raises:
        QgsProcessingException: at least one package of ``groups`` cannot be imported.
    """
    missing = {group: missing_dependencies([group]) for group in groups}
    missing = {group: names for group, names in missing.items() if names}
    if missing:
        raise QgsProcessingException(describe_missing(missing))


def require_model_runtime() -> None:
    """Raise a QgsProcessingException unless PyTorch, ONNX Runtime or OpenVINO is importable.

    The light install (ONNX Runtime, no torch) runs models that ship an exported
    ``model.onnx``, as the bundled default does.
    """
    if not has_model_runtime():
        raise QgsProcessingException(
            "Gap detection with a model needs PyTorch, ONNX Runtime or OpenVINO, and none "
            "is installed: install the light set (ONNX Runtime) or the full set (PyTorch) "
            "from the ForestGaps panel. " + describe_missing({"onnx": ["onnxruntime"]})
        )


def call_engine(
    feedback: QgsProcessingFeedback | None,
    function: Callable[..., ResultT],
    *args: Any,
    labels: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ResultT:
    """Run ``function(*args, progress=..., cancel=..., **kwargs)`` with QGIS feedback.

    A ``ForestGapsError`` becomes one QgsProcessingException line in QGIS words, without a
    traceback: QGIS itself prints the exception's message (qgis_process echoes it through
    its log too), so anything pushed here would repeat it. Any other exception is a bug:
    the same one line, and its traceback pushed once as debug information.

    Args:
        feedback: the algorithm's feedback (None when a caller passed none).
        function: a public engine function accepting ``progress`` and ``cancel``.
        *args: positional arguments for ``function``.
        labels: CLI flag -> the calling algorithm's parameter label, for the message.
        **kwargs: keyword arguments for ``function``.

    Returns:
        Whatever ``function`` returns.

    Raises:
        QgsProcessingException: the engine raised (its message and hint), or was cancelled.
    """
    feedback = feedback if feedback is not None else QgsProcessingFeedback()

    def progress(fraction: float, message: str) -> None:
        feedback.setProgress(100.0 * fraction)
        if message:
            feedback.setProgressText(message)

    try:
        return function(*args, progress=progress, cancel=feedback.isCanceled, **kwargs)
    except Exception as error:  # boundary: every failure becomes a Processing error
        if not is_user_error(error):
            feedback.pushDebugInfo(traceback_text(error))
        raise QgsProcessingException(summary_line(error, labels)) from error

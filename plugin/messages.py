"""Engine errors in QGIS words: one line with its hint, CLI flags turned into field labels.

The engine's hints are written for the command line ("Choose a folder you can write to with
--out"); in QGIS the same advice has to name the field the user sees ("Output folder"). A
``ForestGapsError`` is a user error and becomes one line; any other exception is a bug and
keeps its one traceback so it can be reported. Pure Python (no Qt) so the dock, the
Processing algorithms and the tests share it.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping

from forestgaps_engine.errors import ForestGapsError

# The QGIS field each CLI flag stands for, in the dock's and Processing's words. A face may
# pass its own labels (e.g. a Processing algorithm's parameter descriptions) to override.
QGIS_LABELS: Mapping[str, str] = {
    "--out": "Output folder",
    "--threshold": "Height threshold",
    "--thresholds": "Height thresholds",
    "--max-area": "Maximum gap area",
    "--min-area": "Minimum gap area",
    "--model": "Model",
    "--dsm": "DSM layer",
    "--dtm": "DTM layer",
    "--chm": "CHM layer",
    "--backend": "Backend",
    "--device": "Device",
    "--tile-size": "Tile size",
    "--tile": "Tile size",
    "--overlap": "Overlap",
    "--batch": "Batch size",
    "--resolution": "Cell size",
    "--cell-size": "Cell size",
    "--normalized": "Point cloud is height-normalised",
    "--config": "Configuration file",
    "--data": "Prepared data folder",
    "--format": "Format",
    "--resume": "Resume",
    "--extent": "Processing extent",
    "--terrain-prior": "Coarse terrain (DEM)",
}
# --crs has no field: QGIS keeps a layer's CRS in its properties.
CRS_ADVICE = "Layer Properties > Source"
# The engine's catch-all hint points at a CLI switch; QGIS keeps the traceback in its log.
QGIS_DEFAULT_HINT = "The details are in the Log Messages panel, tab ForestGaps."
BUG_HINT = "This is a bug in ForestGaps; please report it with the traceback below."

# The lowercase values engine hints give flags: choices, not prose ("--min-area must").
_CHOICES = r"(?:auto|torch|onnxruntime|openvino|onnx|torchscript|native|chm|dsm|cpu|cuda)"
# A flag, then optionally the value it takes on the command line: a placeholder (PATH,
# EPSG:XXXX), a number, a file name or a choice (onnx, torch/openvino).
_FLAG_RE = re.compile(
    r"--(?P<flag>[a-z][a-z0-9-]*)"
    r"(?:[ =](?P<value>[A-Z][A-Z0-9_:]*\b|\d[\w.]*|[\w-]+\.[a-z]+\b"
    rf"|{_CHOICES}(?:/{_CHOICES})*\b))?"
)
# `forestgaps ...` in backticks is a command to type in a terminal: left as the CLI wrote it.
_COMMAND_RE = re.compile(r"`[^`]*`")


def _replace_flag(match: re.Match[str], labels: Mapping[str, str]) -> str:
    flag = f"--{match.group('flag')}"
    value = match.group("value")
    label = labels.get(flag)
    if label is None and flag == "--crs":
        return f"{CRS_ADVICE}: {value}" if value else CRS_ADVICE
    # An unknown flag still reads as a setting, never as a switch to type.
    label = label or match.group("flag").replace("-", " ").capitalize()
    return f"“{label}” set to {value}" if value else f"“{label}”"


def qgis_words(text: str, labels: Mapping[str, str] | None = None) -> str:
    """``text`` with every CLI flag outside backticks replaced by its QGIS field label.

    Args:
        text: an engine message or hint, e.g. "Choose a folder you can write to with --out.".
        labels: flag -> label of the face showing the text (e.g. "--out" -> "Output
            folder"); missing flags fall back to :data:`QGIS_LABELS`.

    Returns:
        The text in QGIS words, e.g. 'Choose a folder you can write to with “Output folder”.'
    """
    merged = {**QGIS_LABELS, **(labels or {})}
    pieces: list[str] = []
    position = 0
    for command in _COMMAND_RE.finditer(text):
        plain = text[position : command.start()]
        pieces.append(_FLAG_RE.sub(lambda match: _replace_flag(match, merged), plain))
        pieces.append(command.group(0))
        position = command.end()
    pieces.append(_FLAG_RE.sub(lambda match: _replace_flag(match, merged), text[position:]))
    return "".join(pieces)


def is_user_error(error: BaseException) -> bool:
    """True for a ``ForestGapsError`` (the user can fix it), False for a bug."""
    return isinstance(error, ForestGapsError)


def summary_line(error: BaseException, labels: Mapping[str, str] | None = None) -> str:
    """One line for ``error`` in QGIS words: "message (hint: hint)", never a traceback.

    A bug reads "Internal error: TypeName: text (hint: this is a bug ...)".
    """
    if isinstance(error, ForestGapsError):
        hint = error.hint
        if not hint or hint == ForestGapsError.default_hint:
            hint = QGIS_DEFAULT_HINT
        message = qgis_words(error.message, labels)
        return f"{message} (hint: {qgis_words(hint, labels)})"
    text = " ".join(str(error).split())
    return f"Internal error: {type(error).__name__}: {text} (hint: {BUG_HINT})"


def traceback_text(error: BaseException) -> str:
    """The one traceback of ``error`` (its causes included), as Python prints it."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def user_message(error: BaseException, labels: Mapping[str, str] | None = None) -> str:
    """What a QGIS face shows for ``error``.

    Args:
        error: the exception an engine call raised.
        labels: flag -> field label of the face (see :func:`qgis_words`).

    Returns:
        For a ``ForestGapsError``: one line, "message (hint: hint)", with CLI flags replaced
        by QGIS labels. For any other exception (a bug): that line, then its traceback once.
    """
    line = summary_line(error, labels)
    if is_user_error(error):
        return line
    return f"{line}\n{traceback_text(error).rstrip()}"

"""plugin.messages: engine errors as one line in QGIS words; bugs keep one traceback."""

from __future__ import annotations

import re

import pytest

from forestgaps_engine.errors import ConfigError, DataError, ForestGapsError
from plugin.messages import QGIS_DEFAULT_HINT, qgis_words, summary_line, user_message

FLAG_RE = re.compile(r"--[a-z]")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("Choose a folder you can write to with --out.", "with “Output folder”."),
        ("Swap the two values (--min-area must be <= --max-area).", "(“Minimum gap area” must"),
        ("Use --backend torch.", "Use “Backend” set to torch."),
        ("Give it its CRS (--crs EPSG:XXXX).", "(Layer Properties > Source: EPSG:XXXX)"),
        ("Use a smaller --overlap or a larger --tile-size.", "larger “Tile size”."),
        ("Use --shard-count N.", "Use “Shard count” set to N."),
    ],
)
def test_flags_become_qgis_labels(hint: str, expected: str) -> None:
    line = user_message(DataError("dsm.tif: bad value 3", hint))

    assert expected in line
    assert line.startswith("dsm.tif: bad value 3 (hint: ")
    assert "\n" not in line and not FLAG_RE.search(line)


def test_a_face_names_its_own_labels_and_commands_in_backticks_stay() -> None:
    text = "Add --threshold 10 or run `forestgaps export M --out x`."

    words = qgis_words(text, {"--threshold": "Height threshold (m)"})

    assert words == "Add “Height threshold (m)” set to 10 or run `forestgaps export M --out x`."


def test_the_cli_default_hint_points_at_the_qgis_log() -> None:
    line = summary_line(ForestGapsError("model.onnx: unreadable"))

    assert line == f"model.onnx: unreadable (hint: {QGIS_DEFAULT_HINT})"
    assert "--debug" not in line


def test_user_errors_have_no_traceback_and_bugs_have_exactly_one() -> None:
    try:
        raise ConfigError("threshold -1 m is not positive", "Use e.g. --threshold 5.")
    except ConfigError as error:
        user = user_message(error)
    try:
        {}["missing"]
    except KeyError as error:
        bug = user_message(error)

    assert "Traceback" not in user and "\n" not in user
    assert bug.startswith("Internal error: KeyError: 'missing' (hint: This is a bug")
    assert bug.count("Traceback (most recent call last)") == 1

"""Every Processing algorithm's name, group and help reach the French catalogue.

pylupdate5 records a ``QT_TRANSLATE_NOOP`` only when its context is a string literal and
the call has no trailing comma; otherwise the text silently leaves the .ts at the next
``make i18n`` and the algorithm shows in English.
"""

from __future__ import annotations

import importlib
import pkgutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

TS_FILE = Path(__file__).resolve().parents[2] / "plugin" / "i18n" / "forestgaps_fr.ts"


def catalogue() -> dict[tuple[str, str], str]:
    """(context, source) -> French translation of every finished message."""
    found = {}
    for context in ET.parse(TS_FILE).getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            translation = message.find("translation")
            if translation.get("type") is None and translation.text:
                found[(name, message.findtext("source"))] = translation.text
    return found


def test_every_algorithm_text_marked_for_translation_is_in_the_catalogue(
    require_qgis: None,
) -> None:
    import plugin.processing as processing_package
    from plugin.processing._base import ForestGapsAlgorithm

    for module in pkgutil.iter_modules(processing_package.__path__):
        importlib.import_module(f"plugin.processing.{module.name}")
    algorithms = ForestGapsAlgorithm.__subclasses__()
    if not algorithms:
        pytest.fail("no algorithm derives from ForestGapsAlgorithm")
    translated = catalogue()
    checked = 0
    for algorithm in algorithms:
        # Empty: the algorithm names itself with self.tr() calls, which pylupdate5 reads.
        for text in filter(None, (algorithm.DISPLAY_NAME, algorithm.GROUP, algorithm.HELP)):
            checked += 1
            assert (algorithm.__name__, text) in translated, (algorithm.__name__, text[:60])
    assert checked >= 12  # four algorithms declare all three

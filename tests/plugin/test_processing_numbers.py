"""Number parameters of every Processing algorithm come from one helper of the base class.

``processing_numbers.json`` records each algorithm's number parameters (type, default,
minimum, maximum, label, flags) as they were before the helper: the dialogs must not change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("qgis.core")
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def number_parameters() -> dict[str, list]:
    from qgis.core import QgsProcessingParameterNumber

    from plugin.processing.provider import algorithm_classes

    rows = {}
    for algorithm_class in algorithm_classes():
        algorithm = algorithm_class()
        algorithm.initAlgorithm()
        for definition in algorithm.parameterDefinitions():
            if isinstance(definition, QgsProcessingParameterNumber):
                rows[f"{algorithm.name()}.{definition.name()}"] = [
                    int(definition.dataType()), definition.defaultValue(), definition.minimum(),
                    definition.maximum(), definition.description(), bool(definition.flags()),
                ]  # fmt: skip
    return rows


def test_every_algorithm_keeps_its_number_parameters(qgis_app: object) -> None:
    recorded = json.loads((Path(__file__).with_name("processing_numbers.json")).read_text())
    assert number_parameters() == recorded


def test_no_algorithm_builds_a_number_parameter_itself() -> None:
    folder = REPO / "plugin" / "processing"
    spelled_out = [
        path.name
        for path in sorted(folder.glob("*.py"))
        if path.name not in ("_base.py", "_checks.py")
        and "QgsProcessingParameterNumber(" in path.read_text(encoding="utf-8")
    ]
    assert spelled_out == []


def test_add_number_gives_a_double_or_an_integer_with_its_bounds(qgis_app: object) -> None:
    from qgis.core import QgsProcessingParameterNumber

    from plugin.processing._base import ForestGapsAlgorithm

    algorithm = ForestGapsAlgorithm()
    algorithm.add_number("AREA", "Area (m²)", 1.5, 0.0)
    algorithm.add_number("COUNT", "Count", 3, 1, 9, is_integer=True)
    area, count = algorithm.parameterDefinition("AREA"), algorithm.parameterDefinition("COUNT")
    kind = QgsProcessingParameterNumber.Type
    assert (area.dataType(), area.defaultValue(), area.minimum()) == (kind.Double, 1.5, 0.0)
    assert area.maximum() == QgsProcessingParameterNumber("X").maximum()  # no bound given
    assert (count.dataType(), count.defaultValue(), count.minimum(), count.maximum()) == (
        kind.Integer, 3, 1, 9,
    )  # fmt: skip

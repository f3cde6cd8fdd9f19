"""Parameter checks that name the field, the value and the fix.

QGIS's own check answers "Incorrect parameter value for THRESHOLD": it names the internal key
and neither the value nor the allowed range. These checks run first and say, in the words
of the dialog, "Height threshold is -1 m; enter at least 0.01 m."
"""

from __future__ import annotations

import math
import re
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
    QgsRasterLayer,
)

# "Height threshold (m): gap where ..." -> unit "m"; "Minimum gap area (m²)" -> "m²".
_UNIT_RE = re.compile(r"\((m²|m|px|s)\b")
# QGIS stores "no bound" as ±DBL_MAX; anything this large is no real limit.
_UNBOUNDED = 1.0e300


def field_label(definition: QgsProcessingParameterDefinition) -> str:
    """The name part of a parameter's label: "Height threshold (m): gap ..." -> "Height threshold"."""
    return re.split(r"\s*[(:]", definition.description(), maxsplit=1)[0].strip()


def field_unit(definition: QgsProcessingParameterDefinition) -> str:
    """The unit written in a parameter's label ("m", "m²", "px"), or "" when it has none."""
    match = _UNIT_RE.search(definition.description())
    return match.group(1) if match else ""


def _with_unit(value: float, unit: str) -> str:
    return f"{value:g} {unit}" if unit else f"{value:g}"


def number_problem(definition: QgsProcessingParameterNumber, value: Any) -> str | None:
    """What is wrong with ``value`` for a number parameter, or None when it is acceptable."""
    if value is None or value == "" or isinstance(value, bool):
        return None  # absent: QGIS applies the default or reports the missing field
    if not isinstance(value, (int, float, str)):
        return None  # an expression or a model input: QGIS evaluates it later
    label = field_label(definition)
    try:
        number = float(value)
    except ValueError:
        return f"{label}: {str(value)!r} is not a number; enter a number."
    if not math.isfinite(number):
        return f"{label} is {value}; enter a finite number."
    unit = field_unit(definition)
    minimum, maximum = definition.minimum(), definition.maximum()
    if abs(minimum) < _UNBOUNDED and number < minimum:
        return f"{label} is {_with_unit(number, unit)}; enter at least {_with_unit(minimum, unit)}."
    if abs(maximum) < _UNBOUNDED and number > maximum:
        return f"{label} is {_with_unit(number, unit)}; enter at most {_with_unit(maximum, unit)}."
    if definition.dataType() == QgsProcessingParameterNumber.Type.Integer and number != int(number):
        return f"{label} is {number:g}; enter a whole number."
    return None


def raster_problem(
    definition: QgsProcessingParameterRasterLayer, value: Any, context: QgsProcessingContext
) -> str | None:
    """What is wrong with a raster layer parameter given as a path, or None."""
    if not isinstance(value, str) or not value.strip():
        return None  # a layer object, or absent (QGIS reports a missing required field)
    layer = QgsProcessingUtils.mapLayerFromString(value, context)
    if isinstance(layer, QgsRasterLayer) and layer.isValid():
        return None
    return (
        f"{field_label(definition)}: {value!r} is not a raster QGIS can open; choose a "
        "GeoTIFF file or a raster layer of the project."
    )


def parameter_problems(
    definitions: list[QgsProcessingParameterDefinition],
    parameters: dict[str, Any],
    context: QgsProcessingContext,
) -> list[str]:
    """One sentence per parameter value that cannot work, in the dialog's words."""
    problems = []
    for definition in definitions:
        value = parameters.get(definition.name())
        problem = None
        if isinstance(definition, QgsProcessingParameterNumber):
            problem = number_problem(definition, value)
        elif isinstance(definition, QgsProcessingParameterRasterLayer):
            problem = raster_problem(definition, value, context)
        if problem:
            problems.append(problem)
    return problems

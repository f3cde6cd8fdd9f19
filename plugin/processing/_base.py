"""What every ForestGaps Processing algorithm shares: names, help, icon, checks, engine calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterNumber,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..resources import plugin_icon
from ._checks import field_label, parameter_problems
from ._engine_call import call_engine

ResultT = TypeVar("ResultT")


class ForestGapsAlgorithm(QgsProcessingAlgorithm):
    """Base of the provider's algorithms; subclasses define parameters and one engine call.

    ``CLI_FLAGS`` maps the command-line flags the engine's hints may name to this
    algorithm's parameter keys, so an error says "Output folder" where the CLI says "--out".
    ``NAME``, ``DISPLAY_NAME``, ``GROUP``, ``GROUP_ID`` and ``HELP`` give what QGIS lists
    (the texts marked with ``QT_TRANSLATE_NOOP`` in the subclass's context, translated
    here); a subclass that leaves them empty overrides the methods itself.
    """

    CLI_FLAGS: Mapping[str, str] = {}
    NAME = ""
    DISPLAY_NAME = ""
    GROUP = ""
    GROUP_ID = ""
    HELP = ""

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:  # name fixed by QGIS
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return self.tr(self.GROUP)

    def groupId(self) -> str:  # name fixed by QGIS
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # name fixed by QGIS
        return self.tr(self.HELP)

    def tr(self, text: str) -> str:
        """Translate ``text`` in the subclass's context (as pylupdate5 records it)."""
        return QCoreApplication.translate(type(self).__name__, text)

    def icon(self) -> QIcon:
        return plugin_icon()

    def createInstance(self) -> ForestGapsAlgorithm:  # name fixed by QGIS
        return type(self)()

    def add_number(
        self, key: str, label: str, default: float, minimum: float,
        maximum: float | None = None, *, is_integer: bool = False,
    ) -> None:  # fmt: skip
        """Add a number parameter: a Double, or an Integer with ``is_integer``.

        Args:
            key: parameter key.
            label: the dialog's label, translated by the subclass (``self.tr``).
            default: default value.
            minimum: lowest value accepted.
            maximum: highest value accepted; None leaves QGIS's own bound.
            is_integer: whole numbers only.
        """
        kind = QgsProcessingParameterNumber.Type
        bound = {} if maximum is None else {"maxValue": maximum}
        self.addParameter(
            QgsProcessingParameterNumber(
                key, label, type=kind.Integer if is_integer else kind.Double,
                defaultValue=default, minValue=minimum, **bound,
            )
        )  # fmt: skip

    def label_of(self, key: str) -> str:
        """The dialog's name of parameter ``key`` ("THRESHOLD" -> "Height threshold")."""
        definition = self.parameterDefinition(key)
        return field_label(definition) if definition is not None else key

    def flag_labels(self) -> dict[str, str]:
        """CLI flag -> the label of the parameter standing for it in this algorithm."""
        return {flag: self.label_of(key) for flag, key in self.CLI_FLAGS.items()}

    def call_engine(
        self,
        feedback: QgsProcessingFeedback | None,
        function: Callable[..., ResultT],
        *args: Any,
        **kwargs: Any,
    ) -> ResultT:
        """:func:`._engine_call.call_engine` with this algorithm's labels for CLI flags."""
        return call_engine(feedback, function, *args, labels=self.flag_labels(), **kwargs)

    def raster_path(
        self, parameters: dict[str, Any], key: str, context: QgsProcessingContext
    ) -> tuple[Path | None, str | None]:
        """(file, CRS override) of raster parameter ``key``; (None, None) when not given.

        Raises:
            QgsProcessingException: the layer is not a raster file (names the field).
        """
        if not parameters.get(key):
            return None, None
        from ._layers import layer_crs_override, raster_file_of

        layer = self.parameterAsRasterLayer(parameters, key, context)
        return raster_file_of(layer, self.label_of(key)), layer_crs_override(layer)

    def inference_config(self, values: dict[str, Any], keys: Mapping[str, str]) -> Any:
        """The engine's InferenceConfig, a bad value as one line naming the dialog's field.

        Args:
            values: InferenceConfig field -> value.
            keys: InferenceConfig field -> this algorithm's parameter key.
        """
        from forestgaps_engine.config.inference import InferenceConfig

        try:
            return InferenceConfig(**values)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise QgsProcessingException(self.config_problem(error, keys)) from None

    def config_problem(self, error: ValueError, keys: Mapping[str, str]) -> str:
        """A pydantic error as one line naming the dialog's fields ("Tile size: ...").

        Args:
            error: the ValidationError.
            keys: config field -> this algorithm's parameter key.
        """
        details = getattr(error, "errors", None)
        if not callable(details):
            return " ".join(str(error).split())
        parts = []
        for detail in details():
            field = next((str(part) for part in detail.get("loc", ()) if part in keys), "")
            label = self.label_of(keys[field]) if field else "Settings"
            parts.append(f"{label}: {detail.get('msg', 'invalid value')}")
        return "; ".join(parts) + "."

    def detect(
        self, feedback: QgsProcessingFeedback | None, context: QgsProcessingContext, **kwargs: Any
    ) -> Any:
        """``forestgaps_engine.detection.detect(**kwargs)``; its layers load, styled as the
        panel styles them, when it ends."""
        from forestgaps_engine.detection import detect

        from ..styles import threshold_output_layers
        from ._layers import load_on_completion

        result = self.call_engine(feedback, detect, **kwargs)
        if result.method == "classic" and result.notes and feedback is not None:
            feedback.pushInfo(" ".join(result.notes))
        for item in result.thresholds:
            for output in threshold_output_layers(item):
                load_on_completion(context, output.path, output.name, output.style)
        return result

    def check_values(self, parameters: dict[str, Any], context: QgsProcessingContext) -> str | None:
        """What is wrong across this algorithm's values (e.g. min above max), or None.

        Runs after every value passed its own check; subclasses override it.
        """
        return None

    def checkParameterValues(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> tuple[bool, str]:  # name fixed by QGIS
        problems = parameter_problems(self.parameterDefinitions(), parameters, context)
        if problems:
            return False, " ".join(problems)
        problem = self.check_values(parameters, context)
        if problem:
            return False, problem
        return super().checkParameterValues(parameters, context)

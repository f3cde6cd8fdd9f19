"""What every ForestGaps Processing algorithm shares: translation, icon, checks, engine calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from qgis.core import QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingFeedback
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
    """

    CLI_FLAGS: Mapping[str, str] = {}

    def tr(self, text: str) -> str:
        """Translate ``text`` in the subclass's context (as pylupdate5 records it)."""
        return QCoreApplication.translate(type(self).__name__, text)

    def icon(self) -> QIcon:
        return plugin_icon()

    def createInstance(self) -> ForestGapsAlgorithm:  # name fixed by QGIS
        return type(self)()

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

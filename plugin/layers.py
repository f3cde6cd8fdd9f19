"""Show a finished task: result layers in a styled group, the summary in the message bar.

Main thread only (called from ``QgsTask.finished``).
"""

from __future__ import annotations

import logging
from typing import Any

from qgis.core import (
    Qgis,
    QgsLayerTreeGroup,
    QgsMapLayer,
    QgsMessageLog,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
)

from .detection import DetectionResult, ThresholdOutputs
from .log_bridge import LOG_TAG
from .styles import OutputLayer, apply_style, threshold_output_layers
from .tasks import TaskOutcome

logger = logging.getLogger(__name__)

GROUP_PREFIX = "ForestGaps – "
# Which output a layer shows: probability, mask, gap_ids or polygons.
ROLE_PROPERTY = "forestgaps/role"


def group_name(display_name: str) -> str:
    """Name of the layer tree group for a DSM: ``ForestGaps – <DSM name>``."""
    return f"{GROUP_PREFIX}{display_name}"


def _layer(output: OutputLayer) -> QgsMapLayer:
    if output.is_vector:
        layer: QgsMapLayer = QgsVectorLayer(str(output.path), output.name, "ogr")
    else:
        layer = QgsRasterLayer(str(output.path), output.name)
    layer.setCustomProperty(ROLE_PROPERTY, output.role)
    if not layer.isValid():
        raise RuntimeError(f"QGIS cannot open {layer.source()} as a layer")
    problem = apply_style(layer, output.style) if output.style is not None else None
    if problem:
        logger.warning("style %s not applied to %s: %s", output.style, layer.name(), problem)
    return layer


def threshold_layers(item: ThresholdOutputs) -> list[QgsMapLayer]:
    """The layers of one threshold (``styles.threshold_output_layers``), each with its style."""
    return [_layer(output) for output in threshold_output_layers(item)]


def add_result_layers(
    result: DetectionResult, display_name: str, project: QgsProject | None = None
) -> QgsLayerTreeGroup:
    """Add every output of ``result`` to a group at the top of the layer tree.

    A group of the same name from an earlier run is replaced. Only the first threshold's
    mask and polygons are switched on: stacked, the thresholds' layers hide each other.

    Returns:
        The group, one sub-group per threshold ("<T> m").
    """
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    name = group_name(display_name)
    previous = root.findGroup(name)
    if previous is not None:
        root.removeChildNode(previous)
    group = root.insertGroup(0, name)
    for index, item in enumerate(result.thresholds):
        sub_group = group.addGroup(f"{item.threshold_m:g} m")
        for layer in threshold_layers(item):
            project.addMapLayer(layer, False)
            node = sub_group.addLayer(layer)
            node.setItemVisibilityChecked(index == 0 and is_shown_after_run(layer))
        # Hidden thresholds stay one click away, folded so the tree stays short.
        sub_group.setExpanded(index == 0)
    return group


def is_shown_after_run(layer: QgsMapLayer) -> bool:
    """Whether ``layer`` is switched on after a run: the mask and the polygons.

    The probability and gap id rasters are opaque and would hide everything under them.
    """
    return layer.customProperty(ROLE_PROPERTY) in ("mask", "polygons")


def summary_text(result: DetectionResult) -> str:
    """One line per threshold: gap count, area (m², ha) and fraction of the valid area."""
    method = "model" if result.method == "model" else "classic detector"
    parts = [
        f"{item.threshold_m:g} m: {item.n_gaps} gaps, {item.total_gap_area_m2:,.0f} m² "
        f"({item.total_gap_area_m2 / 10_000:.2f} ha), {100 * item.gap_fraction:.1f} % gap"
        for item in result.thresholds
    ]
    return f"Gaps ({method}) — " + "; ".join(parts) + f". Files in {result.out_dir}."


def show_outcome(outcome: TaskOutcome, iface: Any, project: QgsProject | None = None) -> str:
    """Load layers on success and report any outcome in the message bar and the log.

    Args:
        outcome: what the task returned.
        iface: the QgisInterface (its ``messageBar()``).
        project: project to load into (default: the current one).

    Returns:
        The text shown in the message bar.
    """
    bar = iface.messageBar()
    if outcome.status == "cancelled":
        QgsMessageLog.logMessage(outcome.message, LOG_TAG, Qgis.MessageLevel.Info)
        bar.pushInfo("ForestGaps", outcome.message)
        return outcome.message
    if outcome.status == "failed" or outcome.result is None:
        # One line for the user; a bug's traceback goes once to the log, never to the bar.
        text = outcome.summary or outcome.message
        QgsMessageLog.logMessage(
            f"{text}\n{outcome.details}".rstrip(), LOG_TAG, Qgis.MessageLevel.Critical
        )
        bar.pushCritical("ForestGaps", text)
        return text
    result = outcome.result
    for note in result.notes:
        QgsMessageLog.logMessage(note, LOG_TAG, Qgis.MessageLevel.Info)
    try:
        add_result_layers(result, outcome.params.display_name, project)
    except RuntimeError as error:  # an output QGIS cannot read: say so, keep QGIS up
        text = f"Results were written to {result.out_dir} but cannot be shown: {error}"
        QgsMessageLog.logMessage(text, LOG_TAG, Qgis.MessageLevel.Critical)
        bar.pushCritical("ForestGaps", text)
        return text
    text = summary_text(result)
    QgsMessageLog.logMessage(text, LOG_TAG, Qgis.MessageLevel.Success)
    bar.pushSuccess("ForestGaps", text)
    return text

"""Processing layers as files for the engine, and engine files back as layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsMapLayer,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProject,
    QgsRasterLayer,
)

from ..styles import apply_style


def raster_file_of(layer: QgsRasterLayer | None, label: str) -> Path:
    """The file behind a GDAL raster layer, or a QgsProcessingException naming the field.

    Args:
        layer: the layer a raster parameter gave (None when it gave none).
        label: the parameter's label in the dialog, e.g. "Canopy height model".
    """
    if layer is None:
        raise QgsProcessingException(f"{label}: no raster layer was given; choose one.")
    path = Path(layer.source().split("|")[0])
    if layer.providerType() != "gdal" or not path.is_file():
        raise QgsProcessingException(
            f"{label}: layer {layer.name()!r} ({layer.source()}) is not a raster file "
            "(hint: save it as a GeoTIFF first, e.g. with Raster > Conversion > Translate)"
        )
    return path


def layer_crs_override(layer: QgsRasterLayer) -> str | None:
    """The layer's CRS when QGIS uses another one than the file's (or the file has none).

    The engine replaces a stored CRS with a warning, so the file's own CRS is not passed.
    """
    layer_crs = layer.crs()
    if not layer_crs.isValid() or layer_crs == layer.dataProvider().crs():
        return None
    authid = layer_crs.authid()
    return authid if authid.upper().startswith("EPSG:") else layer_crs.toWkt()


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Applies ``resources/styles/<style>.qml`` to a layer Processing loads at the end.

    QGIS keeps only a pointer to a post-processor, so each one holds itself in
    ``_PENDING`` until it has run.
    """

    _PENDING: set[StyleOnLoad] = set()

    def __init__(self, style: str) -> None:
        super().__init__()
        self.style = style
        StyleOnLoad._PENDING.add(self)

    def postProcessLayer(  # noqa: N802 (name fixed by QGIS)
        self, layer: QgsMapLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        """Load the style into ``layer`` (a warning in the log when QGIS cannot)."""
        StyleOnLoad._PENDING.discard(self)
        problem = apply_style(layer, self.style)
        if problem and feedback is not None:
            feedback.reportError(f"Style {self.style} not applied to {layer.name()}: {problem}")
        layer.triggerRepaint()


def load_on_completion(
    context: QgsProcessingContext, path: Path, name: str, style: str | None = None
) -> Any:
    """Ask the GUI to add ``path`` to the project when the algorithm ends (no-op headless).

    Args:
        context: the algorithm's context.
        path: the file to load.
        name: the layer's name.
        style: a style of ``resources/styles`` (e.g. ``change_classes``) applied on load.

    Returns:
        The layer details handed to QGIS.
    """
    details = QgsProcessingContext.LayerDetails(name, context.project() or QgsProject.instance())
    if style is not None:
        details.setPostProcessor(StyleOnLoad(style))
    context.addLayerToLoadOnCompletion(str(path), details)
    return details

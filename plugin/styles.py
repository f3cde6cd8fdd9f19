"""Which files of a detection load as layers, under which name and style.

The panel and the Processing algorithms both show a detection's files; naming and styling
them here keeps the two faces showing the same layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsMapLayer

from .detection import ThresholdOutputs
from .resources import style_path


@dataclass(frozen=True)
class OutputLayer:
    """One file of a threshold as a layer.

    Attributes:
        path: the raster or GeoPackage.
        name: the layer's name, e.g. ``gap probability 5 m``.
        style: a style of ``resources/styles`` (None: QGIS's default).
        role: what the layer holds (``probability``, ``mask``, ``gap_ids``, ``polygons``).
    """

    path: Path
    name: str
    style: str | None
    role: str

    @property
    def is_vector(self) -> bool:
        """True for the gap polygons (OGR), False for rasters (GDAL)."""
        return self.role == "polygons"


def threshold_output_layers(item: ThresholdOutputs) -> list[OutputLayer]:
    """The layers of one threshold: probability and mask (model) or gap ids (classic),
    then the gap polygons."""
    label = f"{item.threshold_m:g} m"
    rasters = (
        (item.probability_path, "gap probability", "gap_probability", "probability"),
        (item.mask_path, "gap mask", "gap_mask", "mask"),
        (item.gap_ids_path, "gap ids", None, "gap_ids"),
    )
    layers = [
        OutputLayer(Path(path), f"{kind} {label}", style, role)
        for path, kind, style, role in rasters
        if path is not None
    ]
    return [
        *layers,
        OutputLayer(Path(item.polygons_path), f"gaps {label}", "gap_polygons", "polygons"),
    ]


def apply_style(layer: QgsMapLayer, style: str) -> str | None:
    """Load ``resources/styles/<style>.qml`` into ``layer``; QGIS's message when it cannot."""
    message, is_loaded = layer.loadNamedStyle(str(style_path(style)))
    return None if is_loaded else message

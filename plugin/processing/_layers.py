"""Processing layers as files for the engine, and engine files back as layers."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProject, QgsRasterLayer


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


def load_on_completion(context: QgsProcessingContext, path: Path, name: str) -> None:
    """Ask the GUI to add ``path`` to the project when the algorithm ends (no-op headless)."""
    details = QgsProcessingContext.LayerDetails(name, context.project() or QgsProject.instance())
    context.addLayerToLoadOnCompletion(str(path), details)

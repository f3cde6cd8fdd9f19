"""resources/styles/*.qml load in QGIS onto the layer kinds they are meant for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

STYLES = Path(__file__).resolve().parents[2] / "resources" / "styles"


def write_raster(path: Path, values: np.ndarray) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype=values.dtype.name,
        crs="EPSG:2154",
        transform=from_origin(700_000.0, 6_600_000.0, 1.0, 1.0),
    ) as dataset:
        dataset.write(values, 1)
    return path


@pytest.mark.parametrize(
    ("style", "values", "renderer_type"),
    [
        (
            "gap_probability",
            np.linspace(0, 1, 16, dtype="float32").reshape(4, 4),
            "singlebandpseudocolor",
        ),
        ("gap_mask", np.eye(4, dtype="uint8"), "paletted"),
    ],
)
def test_raster_styles_load(
    require_qgis: None, tmp_path: Path, style: str, values: np.ndarray, renderer_type: str
) -> None:
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(write_raster(tmp_path / f"{style}.tif", values)), style)
    assert layer.isValid()
    message, ok = layer.loadNamedStyle(str(STYLES / f"{style}.qml"))
    assert ok, message
    assert layer.renderer().type() == renderer_type


def test_probability_style_spans_zero_to_one(require_qgis: None, tmp_path: Path) -> None:
    from qgis.core import QgsRasterLayer

    values = np.linspace(0, 1, 16, dtype="float32").reshape(4, 4)
    layer = QgsRasterLayer(str(write_raster(tmp_path / "p.tif", values)), "p")
    layer.loadNamedStyle(str(STYLES / "gap_probability.qml"))
    renderer = layer.renderer()
    assert (renderer.classificationMin(), renderer.classificationMax()) == (0.0, 1.0)


def test_mask_style_shows_gaps_and_hides_the_rest(require_qgis: None, tmp_path: Path) -> None:
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(write_raster(tmp_path / "m.tif", np.eye(4, dtype="uint8"))), "m")
    layer.loadNamedStyle(str(STYLES / "gap_mask.qml"))
    classes = {c.value: c.color for c in layer.renderer().classes()}
    assert classes[0].alpha() == 0
    assert classes[1].alpha() == 255


def test_polygon_style_loads_as_semi_transparent_fill(require_qgis: None) -> None:
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:2154", "gaps", "memory")
    message, ok = layer.loadNamedStyle(str(STYLES / "gap_polygons.qml"))
    assert ok, message
    symbol = layer.renderer().symbol()
    assert 0 < symbol.color().alpha() < 255
    assert symbol.symbolLayer(0).strokeWidth() > 0

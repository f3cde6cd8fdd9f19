"""'Detect gaps' run from Processing loads the layers the panel loads, under the same names
and with the same styles (resources/styles/*.qml), not QGIS's default grey."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.plugin.test_plugin_dock import all_gap_model, synthetic_site  # noqa: F401

STYLES = Path(__file__).resolve().parents[2] / "resources" / "styles"


def loaded(name: str) -> Any:
    """The one project layer called ``name``."""
    from qgis.core import QgsProject

    (layer,) = QgsProject.instance().mapLayersByName(name)
    return layer


def assert_styled_like(layer: Any, style: str | None) -> None:
    """``layer`` renders as the same file styled with ``style`` (None: QGIS's default)."""
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    kind = QgsVectorLayer if isinstance(layer, QgsVectorLayer) else QgsRasterLayer
    reference = kind(layer.source(), "reference")
    if style is not None:
        message, is_loaded = reference.loadNamedStyle(str(STYLES / f"{style}.qml"))
        assert is_loaded, message
    assert layer.renderer().type() == reference.renderer().type(), layer.name()
    if isinstance(layer, QgsVectorLayer):
        assert layer.renderer().symbol().color() == reference.renderer().symbol().color()


@pytest.mark.parametrize("route", ["model", "classic"])
def test_processing_loads_and_styles_the_layers_like_the_panel(
    route: str, qgis_processing: None, qgis_new_project: None, started_plugin: Any,
    synthetic_site: dict[str, Path], all_gap_model: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    import processing

    parameters = {
        "INPUT": str(synthetic_site["dsm"]), "THRESHOLDS": "5", "TILE": 64, "OVERLAP": 8,
        "MODEL": str(all_gap_model), "OUTPUT_FOLDER": str(tmp_path / "out"),
    }  # fmt: skip
    if route == "classic":
        parameters.update(DTM=str(synthetic_site["dtm"]), MODEL=str(tmp_path / "no_model"))

    result = processing.runAndLoadResults("forestgaps:detectgaps", parameters)

    assert result["METHOD"] == route
    expected = (
        {"gap probability 5 m": "gap_probability", "gap mask 5 m": "gap_mask"}
        if route == "model"
        else {"gap ids 5 m": None}
    ) | {"gaps 5 m": "gap_polygons"}
    from qgis.core import QgsProject

    names = sorted(layer.name() for layer in QgsProject.instance().mapLayers().values())
    assert names == sorted(expected)
    for name, style in expected.items():
        assert_styled_like(loaded(name), style)

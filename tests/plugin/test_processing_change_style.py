"""'Gap changes between two dates' run from Processing loads its change classes with the
panel's style (resources/styles/change_classes.qml), not QGIS's default grey."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plugin.test_compare_dates_processing import chm_pair  # noqa: F401

STYLE = Path(__file__).resolve().parents[2] / "resources" / "styles" / "change_classes.qml"


def palette(layer: Any) -> list[tuple[float, str, str]]:
    """(value, label, #aarrggbb colour) of every class of a paletted raster layer."""
    from qgis.PyQt.QtGui import QColor

    return [
        (item.value, item.label, item.color.name(QColor.HexArgb))
        for item in layer.renderer().classes()
    ]


def test_processing_styles_the_change_classes_like_the_panel(
    qgis_processing: None, qgis_new_project: None, started_plugin: Any,
    chm_pair: tuple[Path, Path], tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    import processing
    from qgis.core import QgsProject, QgsRasterLayer

    results = processing.runAndLoadResults(
        "forestgaps:gapchange",
        {"BEFORE": str(chm_pair[0]), "AFTER": str(chm_pair[1]), "THRESHOLDS": "5",
         "OUTPUT_FOLDER": str(tmp_path / "out")},
    )  # fmt: skip

    (classes,) = QgsProject.instance().mapLayersByName("change classes t5")
    assert Path(classes.source()) == Path(results["CLASSES"])
    reference = QgsRasterLayer(results["CLASSES"], "reference")
    message, is_loaded = reference.loadNamedStyle(str(STYLE))
    assert is_loaded, message
    assert classes.renderer().type() == "paletted"
    assert palette(classes) == palette(reference)
    assert [label for _value, label, _colour in palette(classes)][2] == "new gap (formation)"
    (events,) = QgsProject.instance().mapLayersByName("gap events t5")
    assert events.isValid()

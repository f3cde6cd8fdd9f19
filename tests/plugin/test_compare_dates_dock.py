"""The dock's "Compare dates" section in a real QGIS: Run, styled layer group, plot window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.plugin.test_compare_dates_processing import write_chm


@pytest.fixture
def dock(require_qgis: None, qgis_iface: Any, qgis_new_project: None) -> Iterator[Any]:
    from qgis.core import QgsSettings

    from plugin.dock.dock_widget import ForestGapsDock

    QgsSettings().remove("forestgaps")
    widget = ForestGapsDock(qgis_iface)
    yield widget
    widget.deleteLater()


def add_raster(path: Path, name: str) -> Any:
    from qgis.core import QgsProject, QgsRasterLayer

    layer = QgsRasterLayer(str(path), name)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def wait_for(section: Any, timeout_s: float = 60.0) -> Any:
    from qgis.PyQt.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while section.task is not None:
        QApplication.processEvents()
        assert time.monotonic() < deadline, "the comparison did not finish in time"
        time.sleep(0.02)
    return section.last_outcome


def scattered_pair(tmp_path: Path) -> tuple[Path, Path]:
    """40 x 40 px at 1 m: nine 2 x 2 gaps open between the dates, one 3 x 3 gap closes."""
    before = np.full((40, 40), 24.0)
    after = np.full((40, 40), 24.0)
    before[1:4, 1:4] = 1.0
    for row in (5, 18, 31):
        for col in (6, 19, 33):
            after[row : row + 2, col : col + 2] = 2.0
    return write_chm(tmp_path / "chm_2012.tif", before), write_chm(tmp_path / "chm_2014.tif", after)


def test_compare_dates_runs_and_shows_styled_layers_and_the_plot(
    dock: Any, tmp_path: Path
) -> None:
    from qgis.core import QgsProject

    before, after = scattered_pair(tmp_path)
    section = dock.compare_dates
    section.before_combo.setLayer(add_raster(before, "chm 2012"))
    section.after_combo.setLayer(add_raster(after, "chm 2014"))
    section.thresholds_edit.setText("5, 10")
    section.output_widget.setFilePath(str(tmp_path / "out"))
    assert section.request_run() is not None
    assert not section.run_button.isEnabled()
    outcome = wait_for(section)
    assert outcome.is_success, outcome.message
    assert section.run_button.isEnabled()
    assert "36 m² of new gap in 9 new gaps, 9 m² closed" in section.status_label.text()

    group = QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – change chm_2012 → chm_2014")
    assert group is not None
    assert [child.name() for child in group.children()] == ["5 m", "10 m"]
    layers = [node.layer() for node in group.children()[0].findLayers()]
    names = sorted(layer.name() for layer in layers)
    assert names == ["change classes t5", "gap events t5"]
    classes = next(layer for layer in layers if layer.name() == "change classes t5")
    renderer = classes.renderer()
    assert renderer.type() == "paletted"
    labels = {entry.value: entry.label for entry in renderer.classes()}
    assert labels[2] == "new gap (formation)" and labels[3] == "closed gap (recovery)"
    events = next(layer for layer in layers if layer.name() == "gap events t5")
    assert events.featureCount() == 10

    window = section.image_window
    assert window is not None and window.isVisible()
    assert window.image_path == tmp_path / "out" / "change_t5_pattern.png"
    assert not window.label.pixmap().isNull()


def test_compare_dates_says_what_to_fix(dock: Any, tmp_path: Path) -> None:
    before, after = scattered_pair(tmp_path)
    section = dock.compare_dates
    assert section.request_run() is None
    assert "both dates" in section.status_label.text()
    layer = add_raster(before, "chm 2012")
    section.before_combo.setLayer(layer)
    section.after_combo.setLayer(add_raster(after, "chm 2014"))
    section.thresholds_edit.setText("five")
    section.output_widget.setFilePath(str(tmp_path / "out"))
    assert section.request_run() is None
    assert "Height thresholds 'five'" in section.status_label.text()


def test_compare_dates_reports_an_engine_error_in_qgis_words(dock: Any, tmp_path: Path) -> None:
    before, _ = scattered_pair(tmp_path)
    far = np.full((10, 10), 20.0)
    import rasterio
    from rasterio.transform import from_origin

    elsewhere = tmp_path / "elsewhere.tif"
    with rasterio.open(elsewhere, "w", driver="GTiff", height=10, width=10, count=1,
                       dtype="float32", crs="EPSG:2154", nodata=-9999.0,
                       transform=from_origin(100_000.0, 6_000_000.0, 1.0, 1.0)) as dataset:
        dataset.write(far.astype(np.float32), 1)  # fmt: skip
    section = dock.compare_dates
    section.before_combo.setLayer(add_raster(before, "chm 2012"))
    section.after_combo.setLayer(add_raster(elsewhere, "elsewhere"))
    section.output_widget.setFilePath(str(tmp_path / "out"))
    section.request_run()
    outcome = wait_for(section)
    assert not outcome.is_success
    assert "do not overlap" in section.status_label.text()
    assert "Internal error" not in section.status_label.text()
    assert not (tmp_path / "out").exists()

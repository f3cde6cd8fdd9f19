"""What the dock says: the device check, engine errors in QGIS words, the layers a run
shows, each progress line once, and an extent checked before the run starts."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def dock(require_qgis: None, qgis_iface: Any, qgis_new_project: None) -> Iterator[Any]:
    from qgis.core import QgsSettings

    from plugin.dock.dock_widget import ForestGapsDock

    QgsSettings().remove("forestgaps")
    qgis_iface.messageBar().clear_messages()
    widget = ForestGapsDock(qgis_iface)
    yield widget
    widget.deleteLater()


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_detect_without_torch_says_prediction_runs_on_onnx_runtime_or_openvino(
    dock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (installed("onnxruntime") or installed("openvino")):
        pytest.skip("neither ONNX Runtime nor OpenVINO is installed")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises

    dock.detect_button.click()

    text = dock.device_label.text()
    assert text.startswith("Deep-learning prediction is available"), text
    assert "PyTorch: not installed" in text
    assert ("ONNX Runtime" in text) == installed("onnxruntime")
    assert ("OpenVINO" in text) == installed("openvino")


def test_detect_lists_every_working_runtime_with_its_version(dock: Any) -> None:
    import onnxruntime
    import torch

    dock.detect_button.click()

    text = dock.device_label.text()
    assert f"PyTorch {torch.__version__.split('-')[0]} (CPU" in text
    assert f"ONNX Runtime {onnxruntime.__version__} (CPU" in text


def add_raster(path: Path, name: str) -> Any:
    from qgis.core import QgsProject, QgsRasterLayer

    layer = QgsRasterLayer(str(path), name)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def rewrite_dsm(source: Path, target: Path, crs: str | None = None, nodata_rows: int = 0) -> Path:
    """A copy of ``source`` in ``crs`` (same cell count, ~1 m cells) with its top
    ``nodata_rows`` rows set to nodata."""
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(source) as dataset:
        heights_m = dataset.read(1)
        profile = dataset.profile
    heights_m[:nodata_rows] = profile["nodata"]
    if crs == "EPSG:4326":  # ~0.75 m x 1.1 m cells near Paris
        profile.update(crs=crs, transform=from_origin(2.35, 48.85, 1.0e-5, 1.0e-5))
    with rasterio.open(target, "w", **profile) as dataset:
        dataset.write(heights_m, 1)
    return target


def collect_message_log() -> list[str]:
    """Every message QGIS logs under the ForestGaps tab from now on."""
    from qgis.core import QgsApplication

    messages: list[str] = []

    def received(message: str, tag: str, _level: Any) -> None:
        if tag == "ForestGaps":
            messages.append(message)

    QgsApplication.messageLog().messageReceived.connect(received)
    return messages


def run_and_wait(dock: Any, iface: Any, timeout_s: float = 60.0) -> Any:
    from qgis.PyQt.QtCore import QCoreApplication

    from plugin.runner import DetectionRunner

    runner = DetectionRunner(dock, iface)
    outcomes: list[Any] = []
    runner.on_outcome = outcomes.append
    params = dock.request_run()
    assert params is not None, dock.log_pane.toPlainText()
    deadline = time.monotonic() + timeout_s
    while not outcomes and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert outcomes, f"task did not finish in {timeout_s} s"
    QCoreApplication.processEvents()  # queued log lines of the task
    return outcomes[0]


def set_up_run(dock: Any, dsm: Path, model: Path, out_dir: Path, name: str = "dsm") -> Any:
    layer = add_raster(dsm, name)
    dock.dsm_combo.setLayer(layer)
    dock.model_edit.setText(str(model))
    dock.tile_spin.setValue(32)
    dock.overlap_spin.setValue(4)
    dock.batch_spin.setValue(1)
    dock.output_widget.setFilePath(str(out_dir))
    return layer


def test_an_engine_error_is_one_line_in_qgis_words_without_a_traceback(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import Qgis

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    set_up_run(dock, site["dsm"], tiny_model, blocker / "out")
    logged = collect_message_log()

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "failed"
    (error,) = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert "cannot be created" in error and "“Output folder”" in error
    assert "--out" not in error and "\n" not in error
    assert not any("Traceback" in message for message in logged)
    assert dock.log_pane.toPlainText().count("cannot be created") == 1


def test_a_bug_shows_one_line_and_its_traceback_once(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from qgis.core import Qgis

    import plugin.tasks

    def broken(*_args: Any) -> None:
        raise TypeError("unsupported operand")

    monkeypatch.setattr(plugin.tasks, "run_detection", broken)
    set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out")
    logged = collect_message_log()

    run_and_wait(dock, qgis_iface)

    (error,) = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert error.startswith("ForestGaps:Internal error: TypeError: unsupported operand")
    assert "Traceback" not in error
    assert sum(message.count("Traceback") for message in logged) == 1


def test_a_run_shows_one_thresholds_mask_and_polygons_and_hides_the_rest(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import QgsProject

    set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out")
    dock.thresholds.set_thresholds((2.0, 5.0, 10.0))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    group = QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – dsm")
    nodes = group.findLayers()
    assert len(nodes) == 9
    shown = [node.layer().name() for node in nodes if node.isVisible()]
    assert shown == ["gap mask 2 m", "gaps 2 m"]


def test_each_progress_line_appears_once_in_the_log_pane(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out")
    dock.thresholds.set_thresholds((5.0,))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    lines = dock.log_pane.toPlainText().splitlines()
    rows = [line for line in lines if "tile row" in line]
    assert rows and len(rows) == len(set(rows)), rows


def test_a_geographic_dsm_warp_is_reported_in_the_panel(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    dsm = rewrite_dsm(site["dsm"], tmp_path / "dsm_4326.tif", crs="EPSG:4326")
    set_up_run(dock, dsm, tiny_model, tmp_path / "out")
    dock.thresholds.set_thresholds((5.0,))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    lines = dock.log_pane.toPlainText().splitlines()
    warps = [line for line in lines if "is in degrees" in line and "warping onto" in line]
    assert len(warps) == 1, lines


def test_a_map_extent_away_from_the_dsm_is_refused_before_the_run(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import QgsRectangle

    layer = set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out", name="plot 7")
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    extent = layer.extent()
    canvas.setExtent(QgsRectangle(extent.xMaximum() + 1e3, extent.yMinimum(),
                                  extent.xMaximum() + 2e3, extent.yMaximum()))  # fmt: skip
    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("canvas"))
    emitted: list[Any] = []
    dock.runRequested.connect(emitted.append)

    assert dock.request_run() is None
    assert emitted == []
    assert (
        "The map extent does not overlap the DSM layer 'plot 7'; choose 'Whole DSM layer' "
        "or pan to it." in dock.log_pane.toPlainText()
    )


def test_a_map_extent_over_nodata_names_the_layer_not_an_internal_file(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import Qgis, QgsRectangle

    dsm = rewrite_dsm(site["dsm"], tmp_path / "half.tif", nodata_rows=60)
    layer = set_up_run(dock, dsm, tiny_model, tmp_path / "out", name="half")
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    extent = layer.extent()
    # Wide and short, within the nodata rows: the canvas widens it to its own shape.
    canvas.setExtent(QgsRectangle(extent.xMinimum(), extent.yMaximum() - 50,
                                  extent.xMaximum(), extent.yMaximum() - 20))  # fmt: skip
    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("canvas"))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "failed"
    (error,) = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert "forestgaps_work" not in error and ".vrt" not in error
    assert "DSM layer 'half'" in error and "map extent" in error
    assert "Whole DSM layer" in error


def test_a_partial_map_extent_is_reported_in_the_panel(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import QgsRectangle

    layer = set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out")
    dock.thresholds.set_thresholds((5.0,))
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(layer.crs())
    extent = layer.extent()
    canvas.setExtent(QgsRectangle(extent.xMinimum() - 50, extent.yMinimum() - 50,
                                  extent.xMinimum() + 64, extent.yMaximum()))  # fmt: skip
    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("canvas"))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    text = dock.log_pane.toPlainText()
    assert "Processing extent: the map extent" in text and " px of the DSM layer 'dsm'" in text


def test_current_map_extent_is_not_restored_in_a_new_session(dock: Any, qgis_iface: Any) -> None:
    from plugin.dock.dock_widget import ForestGapsDock

    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("canvas"))
    dock.save_settings()

    again = ForestGapsDock(qgis_iface)
    assert again.params().extent_mode == "layer"
    again.deleteLater()


def test_a_polygon_layer_away_from_the_dsm_is_refused_before_the_run(
    dock: Any, site: dict[str, Path], tiny_model: Path, tmp_path: Path
) -> None:
    from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsRectangle, QgsVectorLayer

    layer = set_up_run(dock, site["dsm"], tiny_model, tmp_path / "out", name="plot 7")
    polygons = QgsVectorLayer(f"Polygon?crs={layer.crs().authid()}", "stands", "memory")
    extent = layer.extent()
    feature = QgsFeature()
    far = QgsRectangle(extent.xMaximum() + 100, extent.yMinimum(),
                       extent.xMaximum() + 200, extent.yMaximum())  # fmt: skip
    feature.setGeometry(QgsGeometry.fromRect(far))
    polygons.dataProvider().addFeatures([feature])
    polygons.updateExtents()
    QgsProject.instance().addMapLayer(polygons)
    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("polygon"))
    dock.polygon_combo.setLayer(polygons)

    assert dock.request_run() is None
    assert (
        "The polygon layer 'stands' does not overlap the DSM layer 'plot 7'; choose another "
        "polygon layer or 'Whole DSM layer'." in dock.log_pane.toPlainText()
    )

"""The dock end to end in a real QGIS: Run -> QgsTask -> styled layer group; cancel;
errors in the message bar; settings that survive a new dock."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

THRESHOLDS_M = (5.0, 10.0)


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 128 px synthetic forest at 1 m (EPSG:2154): dsm.tif, dtm.tif, chm.tif."""
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    forest = generate_forest(128, resolution_m=1.0, seed=3)
    return write_forest(forest, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def all_gap_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seeded U-Net whose head bias is +10: every valid cell is gap (p ~ 1).

    Random weights alone may give no gap at the 0.5 cut-off; the bias makes the polygon
    check meaningful (at least one gap) while the plumbing stays that of a real model.
    """
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create("unet", base_channels=4, depth=2)
    heads = [m for name, m in model.named_modules() if name.endswith("head")]
    with torch.no_grad():
        heads[-1].bias.fill_(10.0)
    card = ModelCard(thresholds_m=[2.0, 5.0, 10.0], threshold_range_m=(2.0, 10.0))
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def dock(require_qgis: None, qgis_iface: Any, qgis_new_project: None) -> Any:
    from qgis.core import QgsSettings

    from plugin.dock.dock_widget import ForestGapsDock

    QgsSettings().remove("forestgaps")
    qgis_iface.messageBar().clear_messages()
    widget = ForestGapsDock(qgis_iface)
    yield widget
    widget.deleteLater()


def add_raster(path: Path, name: str) -> Any:
    from qgis.core import QgsProject, QgsRasterLayer

    layer = QgsRasterLayer(str(path), name)
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    return layer


def run_and_wait(
    dock: Any, iface: Any, timeout_s: float = 60.0, before: Callable | None = None
) -> Any:
    from qgis.PyQt.QtCore import QCoreApplication

    from plugin.runner import DetectionRunner

    runner = DetectionRunner(dock, iface)
    outcomes: list[Any] = []
    runner.on_outcome = outcomes.append
    params = dock.request_run()
    assert params is not None, dock.log_pane.toPlainText()
    if before is not None:
        before(runner)
    deadline = time.monotonic() + timeout_s
    while not outcomes and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    # A runner left connected would start a second task at the dock's next run.
    dock.runRequested.disconnect(runner.start)
    dock.cancelRequested.disconnect(runner.cancel)
    assert outcomes, f"task did not finish in {timeout_s} s"
    return outcomes[0]


def group_layers(group: Any) -> list[Any]:
    return [node.layer() for node in group.findLayers()]


def test_run_with_a_model_loads_a_styled_group_on_the_dsm_grid(
    dock: Any, qgis_iface: Any, synthetic_site: dict[str, Path], all_gap_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    from qgis.core import Qgis, QgsProject, QgsRasterLayer, QgsVectorLayer

    dsm = add_raster(synthetic_site["dsm"], "site dsm")
    dock.dsm_combo.setLayer(dsm)
    dock.thresholds.set_thresholds(THRESHOLDS_M)
    dock.model_edit.setText(str(all_gap_model))
    assert "unet" in dock.model_label.text()
    dock.tile_spin.setValue(64)
    dock.overlap_spin.setValue(8)
    dock.output_widget.setFilePath(str(tmp_path / "out"))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    group = QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – site dsm")
    assert group is not None
    assert [child.name() for child in group.children()] == ["5 m", "10 m"]
    layers = group_layers(group)
    assert len(layers) == 6  # probability, mask, polygons per threshold
    for layer in layers:
        assert layer.isValid() and layer.crs() == dsm.crs()
    rasters = [layer for layer in layers if isinstance(layer, QgsRasterLayer)]
    for raster in rasters:
        assert raster.extent() == dsm.extent()
        assert (raster.width(), raster.height()) == (128, 128)
    polygons = [layer for layer in layers if isinstance(layer, QgsVectorLayer)]
    assert all(layer.featureCount() >= 1 for layer in polygons)
    assert {"gap_id", "area_m2", "threshold_m"} <= set(polygons[0].fields().names())
    # Styles were applied: the probability raster renders as a pseudocolor ramp.
    assert rasters[0].renderer().type() == "singlebandpseudocolor"
    success = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success)
    assert success and "5 m:" in success[-1] and "10 m:" in success[-1]
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()


def test_without_a_model_the_chm_runs_the_classic_detector(
    dock: Any, qgis_iface: Any, synthetic_site: dict[str, Path], tmp_path: Path
) -> None:
    from qgis.core import QgsProject, QgsVectorLayer

    dock.dsm_combo.setLayer(add_raster(synthetic_site["dsm"], "dsm"))
    dock.reference_combo.setLayer(add_raster(synthetic_site["chm"], "chm"))
    dock.reference_kind_combo.setCurrentIndex(dock.reference_kind_combo.findData("chm"))
    dock.thresholds.set_thresholds(THRESHOLDS_M)
    dock.model_edit.setText(str(tmp_path / "no_such_model"))
    assert dock.model_label.text().startswith("No model available")

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "success", outcome.message
    assert outcome.result.method == "classic"
    assert "classic detector" in dock.log_pane.toPlainText()
    group = QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – dsm")
    polygons = [la for la in group_layers(group) if isinstance(la, QgsVectorLayer)]
    counts = [layer.featureCount() for layer in polygons]
    assert counts == [t.n_gaps for t in outcome.result.thresholds] and min(counts) > 0
    # Temporary output: a fresh folder per run.
    assert outcome.result.out_dir.is_dir()


def test_cancel_right_after_start_leaves_no_layers_and_no_files(
    dock: Any, qgis_iface: Any, synthetic_site: dict[str, Path], all_gap_model: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    from qgis.core import Qgis, QgsProject

    dock.dsm_combo.setLayer(add_raster(synthetic_site["dsm"], "dsm"))
    dock.model_edit.setText(str(all_gap_model))
    dock.tile_spin.setValue(64)
    dock.overlap_spin.setValue(8)
    out_dir = tmp_path / "out"
    dock.output_widget.setFilePath(str(out_dir))

    outcome = run_and_wait(dock, qgis_iface, before=lambda runner: runner.cancel())

    assert outcome.status == "cancelled"
    assert QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – dsm") is None
    assert not out_dir.exists() or not any(out_dir.rglob("*"))
    infos = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Info)
    assert infos and "cancelled" in infos[-1]


def test_missing_model_without_chm_is_an_error_in_the_message_bar(
    dock: Any, qgis_iface: Any, synthetic_site: dict[str, Path], tmp_path: Path
) -> None:
    from qgis.core import Qgis, QgsProject

    dock.dsm_combo.setLayer(add_raster(synthetic_site["dsm"], "dsm"))
    dock.model_edit.setText(str(tmp_path / "no_such_model"))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "failed"
    errors = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert errors and "model not found" in errors[-1] and "(hint: " in errors[-1]
    assert QgsProject.instance().layerTreeRoot().findGroup("ForestGaps – dsm") is None


def test_run_without_a_dsm_lists_the_problem_and_starts_nothing(dock: Any) -> None:
    dock.dsm_combo.setLayer(None)
    emitted: list[Any] = []
    dock.runRequested.connect(emitted.append)

    assert dock.request_run() is None
    assert emitted == []
    assert "No DSM layer is selected" in dock.log_pane.toPlainText()


def test_settings_are_restored_in_a_new_dock(dock: Any, qgis_iface: Any, tmp_path: Path) -> None:
    from plugin.dock.dock_widget import ForestGapsDock

    dock.thresholds.set_thresholds((3.0, 7.5))
    dock.model_edit.setText(str(tmp_path / "model"))
    dock.extent_combo.setCurrentIndex(dock.extent_combo.findData("canvas"))
    dock.device_combo.setCurrentIndex(dock.device_combo.findData("cpu"))
    dock.tile_spin.setValue(128)
    dock.overlap_spin.setValue(16)
    dock.batch_spin.setValue(2)
    dock.min_area_spin.setValue(9.5)
    dock.output_widget.setFilePath(str(tmp_path / "results"))
    dock.save_settings()

    again = ForestGapsDock(qgis_iface)
    params = again.params()
    assert params.thresholds_m == (3.0, 7.5)
    assert params.model == str(tmp_path / "model")
    # "Current map extent" is not kept: the map is elsewhere in a new session.
    assert params.extent_mode == "layer" and params.device == "cpu"
    assert (params.tile_size_px, params.overlap_px, params.batch_size) == (128, 16, 2)
    assert params.min_gap_area_m2 == pytest.approx(9.5)
    assert params.output_dir == str(tmp_path / "results")
    again.deleteLater()


def test_thresholds_outside_the_trained_range_show_a_warning(
    dock: Any, all_gap_model: Path
) -> None:
    dock.model_edit.setText(str(all_gap_model))
    dock.thresholds.set_thresholds((5.0, 10.0))
    assert dock.thresholds.warning_label.isHidden()
    dock.thresholds.add(20.0)
    assert not dock.thresholds.warning_label.isHidden()
    assert "20 m outside" in dock.thresholds.warning_label.text()


def test_a_new_dock_and_the_processing_algorithm_default_to_the_engine_windows(
    dock: Any, qgis_processing: None, started_plugin: Any
) -> None:
    """The dock, detectgaps and InferenceConfig start from the same tile, overlap and batch.

    The dock once defaulted to 256 px tiles with 32 px overlap and batch 4 while the CLI and
    the measured figures used 512 / 64 / 8.
    """
    from qgis.core import QgsApplication

    from forestgaps_engine.config.inference import InferenceConfig

    engine = InferenceConfig()
    expected = (engine.tile_size_px, engine.overlap_px, engine.batch_size)
    assert (dock.tile_spin.value(), dock.overlap_spin.value(), dock.batch_spin.value()) == expected
    assert dock.min_area_spin.value() == engine.min_gap_area_m2
    algorithm = QgsApplication.processingRegistry().algorithmById("forestgaps:detectgaps")
    defaults = tuple(
        algorithm.parameterDefinition(name).defaultValue() for name in ("TILE", "OVERLAP", "BATCH")
    )
    assert defaults == expected
    assert algorithm.parameterDefinition("MIN_AREA").defaultValue() == engine.min_gap_area_m2

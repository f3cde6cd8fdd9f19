"""``ForestGapsDock``: the panel a forester fills in; it emits an InferenceParams, no more.

Widgets are built in code. Settings persist under ``forestgaps/`` in QgsSettings. The
heavy parts (the model card needs pydantic, the device check imports the model runtimes)
load on demand, so the panel opens with none of them installed.
"""

from __future__ import annotations

import logging
from typing import Any

from qgis.core import (
    QgsCoordinateTransform,
    QgsMapLayerProxyModel,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsSettings,
)
from qgis.gui import (
    QgsAuthConfigSelect,
    QgsCollapsibleGroupBox,
    QgsFileWidget,
    QgsMapLayerComboBox,
)
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..processing.gaps_from_chm import layer_crs_override
from ..translation import tr
from .compare_dates import CompareDatesSection
from .model_info import describe_model, detect_devices
from .params import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLDS_M,
    DEVICES,
    EXTENT_MODES,
    MAX_BATCH_SIZE,
    MAX_TILE_SIZE_PX,
    MIN_TILE_SIZE_PX,
    InferenceParams,
)
from .thresholds_widget import ThresholdsWidget

logger = logging.getLogger(__name__)

SETTINGS_PREFIX = "forestgaps/"


def extent_labels() -> dict[str, str]:
    """Extent mode -> label, in the interface language."""
    return {
        "layer": tr("Whole DSM layer"),
        "canvas": tr("Current map extent"),
        "polygon": tr("Polygon layer"),
    }


def device_labels() -> dict[str, str]:
    """Device -> label, in the interface language."""
    return {"auto": tr("Auto"), "cpu": tr("CPU"), "cuda": tr("GPU (CUDA)")}


def _raster_file(layer: QgsRasterLayer | None) -> str:
    return layer.source().split("|")[0] if layer is not None else ""


class ForestGapsDock(QDockWidget):
    """Panel: DSM, optional CHM/DTM, thresholds, model, extent, device, tiling, output, server.

    Signals:
        runRequested(InferenceParams): the user pressed Run with usable parameters.
        cancelRequested(): the user pressed Cancel.
        installRequested(): the user asked to install the missing dependencies.
    """

    runRequested = pyqtSignal(object)  # noqa: N815 (Qt signal naming)
    cancelRequested = pyqtSignal()  # noqa: N815
    installRequested = pyqtSignal()  # noqa: N815

    def __init__(self, iface: Any = None, parent: QWidget | None = None) -> None:
        super().__init__("ForestGaps", parent)
        self.setObjectName("ForestGapsDock")
        self.iface = iface
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self._build_dependency_notice())
        layout.addLayout(self._build_inputs())
        layout.addWidget(QLabel(tr("Gap height thresholds")))
        self.thresholds = ThresholdsWidget()
        layout.addWidget(self.thresholds)
        layout.addLayout(self._build_model())
        layout.addLayout(self._build_run_options())
        layout.addWidget(self._build_advanced())
        layout.addLayout(self._build_run_row())
        self.log_pane = QPlainTextEdit()
        self.log_pane.setReadOnly(True)
        self.log_pane.setObjectName("logPane")
        layout.addWidget(self.log_pane)
        self.compare_dates = CompareDatesSection()
        layout.addWidget(self.compare_dates)
        self.setWidget(body)
        self.load_settings()
        self.refresh_model_info()
        self.refresh_dependency_notice()
        self._update_enabled()

    def _build_dependency_notice(self) -> QWidget:
        self.deps_notice = QWidget()
        self.deps_notice.setObjectName("dependencyNotice")
        self.deps_label = QLabel()
        self.deps_label.setWordWrap(True)
        self.deps_label.setStyleSheet("color: #b35900;")
        self.install_button = QPushButton(tr("Install dependencies…"))
        self.install_button.setObjectName("installDependenciesButton")
        self.install_button.clicked.connect(self.installRequested.emit)
        column = QVBoxLayout(self.deps_notice)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.deps_label)
        column.addWidget(self.install_button)
        return self.deps_notice

    def refresh_dependency_notice(self) -> None:
        """Show the notice (and its Install button) while a needed package is missing.

        Needed: the core packages, and one model runtime (PyTorch, ONNX Runtime or OpenVINO).
        Only package metadata is read (find_spec): nothing is imported.
        """
        from ..deps import has_model_runtime, missing_groups

        missing = missing_groups()
        sentences = []
        if "core" in missing:
            sentences.append(
                tr("ForestGaps cannot run: {0} missing.").format(", ".join(missing["core"]))
            )
        if not has_model_runtime():
            sentences.append(
                tr(
                    "Deep-learning models need PyTorch, ONNX Runtime or OpenVINO; without one, "
                    "only the classic detector (with a CHM or DTM) can run."
                )
            )
        self.deps_label.setText(" ".join(sentences))
        self.deps_notice.setVisible(bool(sentences))

    def _build_inputs(self) -> QFormLayout:
        form = QFormLayout()
        self.dsm_combo = QgsMapLayerComboBox()
        self.dsm_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.reference_combo = QgsMapLayerComboBox()
        self.reference_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.reference_combo.setAllowEmptyLayer(True)
        self.reference_combo.setLayer(None)
        self.reference_kind_combo = QComboBox()
        self.reference_kind_combo.addItem(tr("CHM (heights above ground)"), "chm")
        self.reference_kind_combo.addItem(tr("DTM (ground elevation)"), "dtm")
        form.addRow(tr("DSM layer"), self.dsm_combo)
        form.addRow(tr("CHM / DTM (optional)"), self.reference_combo)
        form.addRow(tr("It holds"), self.reference_kind_combo)
        # With the "default" model a DEM runs the bundled terrain-prior model; another
        # model must be trained with a terrain prior (its card says so under Model).
        self.terrain_prior_combo = QgsMapLayerComboBox()
        self.terrain_prior_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.terrain_prior_combo.setAllowEmptyLayer(True)
        self.terrain_prior_combo.setLayer(None)
        self.terrain_prior_combo.setToolTip(
            tr("A coarse elevation model (national 5-25 m or global 30 m DEM, any CRS). With "
               "the default model it runs the bundled terrain model, which finds gaps better "
               "on slopes; another model must be trained with a terrain prior.")
        )  # fmt: skip
        form.addRow(tr("Coarse terrain (DEM)"), self.terrain_prior_combo)
        self._single_band_only()
        QgsProject.instance().layersAdded.connect(self._single_band_only)
        self.reference_combo.layerChanged.connect(self._update_enabled)
        return form

    def _build_model(self) -> QFormLayout:
        form = QFormLayout()
        self.model_edit = QLineEdit(DEFAULT_MODEL)
        self.model_edit.setPlaceholderText(tr('"default" or a model folder'))
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self._browse_model)
        default_button = QPushButton(tr("Default"))
        default_button.clicked.connect(lambda: self.model_edit.setText(DEFAULT_MODEL))
        row = QHBoxLayout()
        row.addWidget(self.model_edit)
        row.addWidget(browse)
        row.addWidget(default_button)
        self.model_label = QLabel()
        self.model_label.setObjectName("modelCard")
        self.model_label.setWordWrap(True)
        self.model_edit.editingFinished.connect(self.refresh_model_info)
        self.model_edit.textChanged.connect(lambda _text: self.refresh_model_info())
        form.addRow(tr("Model"), row)
        form.addRow("", self.model_label)
        return form

    def _build_run_options(self) -> QFormLayout:
        form = QFormLayout()
        self.extent_combo = QComboBox()
        labels = extent_labels()
        for mode in EXTENT_MODES:
            self.extent_combo.addItem(labels[mode], mode)
        self.polygon_combo = QgsMapLayerComboBox()
        self.polygon_combo.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.extent_combo.currentIndexChanged.connect(self._update_enabled)
        self.device_combo = QComboBox()
        devices = device_labels()
        for device in DEVICES:
            self.device_combo.addItem(devices[device], device)
        self.detect_button = QPushButton(tr("Detect"))
        self.detect_button.setObjectName("detectDevicesButton")
        self.detect_button.clicked.connect(self.detect_devices)
        self.device_label = QLabel(tr("Devices not checked yet."))
        self.device_label.setWordWrap(True)
        device_row = QHBoxLayout()
        device_row.addWidget(self.device_combo)
        device_row.addWidget(self.detect_button)
        self.output_widget = QgsFileWidget()
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.output_widget.lineEdit().setPlaceholderText(tr("[temporary folder]"))
        form.addRow(tr("Processing extent"), self.extent_combo)
        form.addRow(tr("Polygon layer"), self.polygon_combo)
        form.addRow(tr("Device"), device_row)
        form.addRow("", self.device_label)
        form.addRow(tr("Output folder"), self.output_widget)
        return form

    def _build_advanced(self) -> QgsCollapsibleGroupBox:
        box = QgsCollapsibleGroupBox(tr("Advanced"))
        box.setCollapsed(True)
        form = QFormLayout(box)
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(MIN_TILE_SIZE_PX, MAX_TILE_SIZE_PX)
        self.tile_spin.setSingleStep(32)
        self.overlap_spin = QSpinBox()
        self.overlap_spin.setRange(0, MAX_TILE_SIZE_PX // 2)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, MAX_BATCH_SIZE)
        self.min_area_spin = QDoubleSpinBox()
        self.min_area_spin.setRange(0.0, 1.0e6)
        self.min_area_spin.setSuffix(" m²")
        self.max_area_spin = QDoubleSpinBox()
        self.max_area_spin.setObjectName("maxGapAreaSpin")
        self.max_area_spin.setRange(0.0, 1.0e9)
        self.max_area_spin.setSuffix(" m²")
        # The minimum (0) reads as the absence of a bound.
        self.max_area_spin.setSpecialValueText(tr("No limit"))
        self.max_area_spin.setToolTip(
            tr("Larger gaps are dropped; ForestGapR's getForestGaps uses 10000 m².")
        )
        for suffix_spin in (self.tile_spin, self.overlap_spin):
            suffix_spin.setSuffix(" px")
        form.addRow(tr("Tile size"), self.tile_spin)
        form.addRow(tr("Overlap"), self.overlap_spin)
        form.addRow(tr("Batch size"), self.batch_spin)
        form.addRow(tr("Minimum gap area"), self.min_area_spin)
        form.addRow(tr("Maximum gap area"), self.max_area_spin)
        self.server_edit = QLineEdit()
        self.server_edit.setObjectName("serverUrlEdit")
        self.server_edit.setPlaceholderText(tr("empty: run on this computer"))
        self.server_edit.setToolTip(
            tr(
                "Address of a ForestGaps server (forestgaps serve), e.g. http://127.0.0.1:8000: "
                "the DSM is sent to it and the model runs there."
            )
        )
        form.addRow(tr("Server URL"), self.server_edit)
        # The token lives encrypted in QGIS's authentication database; only its id is kept.
        self.server_auth = QgsAuthConfigSelect()
        self.server_auth.setObjectName("serverAuthSelect")
        self.server_auth.setToolTip(
            tr(
                "For a server started with a token (forestgaps serve --token): a QGIS "
                "authentication configuration of method Basic whose password is the token."
            )
        )
        form.addRow(tr("Server token"), self.server_auth)
        return box

    def _build_run_row(self) -> QVBoxLayout:
        self.run_button = QPushButton(tr("Run"))
        self.run_button.setObjectName("runButton")
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.run_button.clicked.connect(self.request_run)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        column = QVBoxLayout()
        column.addLayout(row)
        column.addWidget(self.progress_bar)
        return column

    def _single_band_only(self, *_args: Any) -> None:
        # A DSM is one band of heights: multi-band rasters (orthophotos) are hidden.
        multi_band = [
            layer
            for layer in QgsProject.instance().mapLayers().values()
            if isinstance(layer, QgsRasterLayer) and layer.bandCount() != 1
        ]
        self.dsm_combo.setExceptedLayerList(multi_band)
        self.reference_combo.setExceptedLayerList(multi_band)
        self.terrain_prior_combo.setExceptedLayerList(multi_band)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Model folder (model_card.json)"))
        if folder:
            self.model_edit.setText(folder)

    def _update_enabled(self, *_args: Any) -> None:
        self.reference_kind_combo.setEnabled(self.reference_combo.currentLayer() is not None)
        self.polygon_combo.setEnabled(self.extent_combo.currentData() == "polygon")

    def refresh_model_info(self) -> None:
        """Show the selected model's card (or why none is available); check thresholds."""
        info = describe_model(self.model_edit.text().strip() or DEFAULT_MODEL)
        self.model_label.setText(info.text)
        self.thresholds.set_trained_range(info.threshold_range_m)

    def detect_devices(self) -> None:
        """List the model runtimes that work and their devices (imports them: on demand)."""
        self.device_label.setText(detect_devices())

    def log(self, message: str) -> None:
        """Append a line to the log pane."""
        self.log_pane.appendPlainText(message)

    def set_running(self, is_running: bool) -> None:
        """Enable Cancel while a task runs, Run otherwise."""
        self.run_button.setEnabled(not is_running)
        self.cancel_button.setEnabled(is_running)
        if is_running:
            self.progress_bar.setValue(0)

    def _extent_in_dsm_crs(self, dsm: QgsRasterLayer, mode: str) -> tuple[float, ...] | None:
        if mode == "canvas" and self.iface is not None:
            canvas = self.iface.mapCanvas()
            extent, source_crs = canvas.extent(), canvas.mapSettings().destinationCrs()
        elif mode == "polygon" and self.polygon_combo.currentLayer() is not None:
            polygons = self.polygon_combo.currentLayer()
            extent, source_crs = polygons.extent(), polygons.crs()
        else:
            return None
        if source_crs.isValid() and dsm.crs().isValid() and source_crs != dsm.crs():
            transform = QgsCoordinateTransform(source_crs, dsm.crs(), QgsProject.instance())
            extent = transform.transformBoundingBox(QgsRectangle(extent))
        return (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())

    def params(self) -> InferenceParams:
        """The widgets' values as a frozen InferenceParams (not yet checked)."""
        dsm = self.dsm_combo.currentLayer()
        reference = self.reference_combo.currentLayer()
        terrain_prior = self.terrain_prior_combo.currentLayer()
        mode = self.extent_combo.currentData()
        output_dir = self.output_widget.filePath().strip()
        return InferenceParams(
            dsm_path=_raster_file(dsm),
            dsm_layer_id=dsm.id() if dsm is not None else "",
            dsm_name=dsm.name() if dsm is not None else "",
            reference_path=_raster_file(reference) or None,
            reference_kind=self.reference_kind_combo.currentData(),
            terrain_prior_path=_raster_file(terrain_prior) or None,
            thresholds_m=self.thresholds.thresholds_m(),
            model=self.model_edit.text().strip() or DEFAULT_MODEL,
            extent_mode=mode,
            extent=self._extent_in_dsm_crs(dsm, mode) if dsm is not None else None,
            device=self.device_combo.currentData(),
            tile_size_px=self.tile_spin.value(),
            overlap_px=self.overlap_spin.value(),
            batch_size=self.batch_spin.value(),
            min_gap_area_m2=self.min_area_spin.value(),
            max_gap_area_m2=self.max_area_spin.value(),
            output_dir=output_dir or None,
            crs_override=layer_crs_override(dsm) if dsm is not None else None,
            server_url=self.server_edit.text().strip() or None,
            server_authcfg=self.server_auth.configId() or None,
        )

    def extent_problems(self, params: InferenceParams) -> list[str]:
        """Why the chosen extent cannot clip the DSM layer, in the panel's words.

        Checked here, before the run: the engine would only see an empty clip of a
        temporary file.
        """
        dsm = self.dsm_combo.currentLayer()
        if dsm is None or params.extent_mode == "layer" or params.extent is None:
            return []
        xmin, ymin, xmax, ymax = params.extent
        if dsm.extent().intersects(QgsRectangle(xmin, ymin, xmax, ymax)):
            return []
        whole = extent_labels()["layer"]
        if params.extent_mode == "polygon":
            polygons = self.polygon_combo.currentLayer()
            return [
                tr(
                    "The polygon layer '{0}' does not overlap the DSM layer '{1}'; choose "
                    "another polygon layer or '{2}'."
                ).format(polygons.name() if polygons else "", dsm.name(), whole)
            ]
        return [
            tr(
                "The map extent does not overlap the DSM layer '{0}'; choose '{1}' or pan to it."
            ).format(dsm.name(), whole)
        ]

    def request_run(self) -> InferenceParams | None:
        """Check the parameters; emit runRequested, or list the problems in the log pane."""
        from ..deps import missing_dependencies

        params = self.params()
        problems = params.problems() or self.extent_problems(params)
        missing = missing_dependencies(["core"])
        if missing:
            problems.append(
                tr("{0} missing; click “Install dependencies…” above.").format(", ".join(missing))
            )
        if problems:
            for problem in problems:
                self.log(tr("Cannot run: {0}").format(problem))
            return None
        self.save_settings()
        self.runRequested.emit(params)
        return params

    def save_settings(self) -> None:
        """Store the current values under ``forestgaps/`` ("Current map extent" excepted)."""
        settings = QgsSettings()
        extent_mode = self.extent_combo.currentData()
        values = {
            "thresholds_m": ",".join(f"{t:g}" for t in self.thresholds.thresholds_m()),
            "model": self.model_edit.text().strip(),
            "reference_kind": self.reference_kind_combo.currentData(),
            # The map will be elsewhere at the next launch: the whole layer is the safe start.
            "extent_mode": "layer" if extent_mode == "canvas" else extent_mode,
            "device": self.device_combo.currentData(),
            "tile_size_px": self.tile_spin.value(),
            "overlap_px": self.overlap_spin.value(),
            "batch_size": self.batch_spin.value(),
            "min_gap_area_m2": self.min_area_spin.value(),
            "max_gap_area_m2": self.max_area_spin.value(),
            "output_dir": self.output_widget.filePath().strip(),
            "server_url": self.server_edit.text().strip(),
            "server_authcfg": self.server_auth.configId(),
        }
        for key, value in values.items():
            settings.setValue(SETTINGS_PREFIX + key, value)

    def load_settings(self) -> None:
        """Restore the values stored by :meth:`save_settings` (defaults when absent)."""
        defaults = InferenceParams(dsm_path="")
        settings = QgsSettings()

        def value(key: str, default: Any, kind: type) -> Any:
            stored = settings.value(SETTINGS_PREFIX + key, default)
            try:
                return kind(stored)
            except (TypeError, ValueError):
                return default

        text = value("thresholds_m", ",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS_M), str)
        try:
            thresholds = [float(part) for part in text.split(",") if part.strip()]
        except ValueError:
            thresholds = list(DEFAULT_THRESHOLDS_M)
        self.thresholds.set_thresholds(thresholds or DEFAULT_THRESHOLDS_M)
        self.model_edit.setText(value("model", DEFAULT_MODEL, str) or DEFAULT_MODEL)
        for combo, key, default in (
            (self.reference_kind_combo, "reference_kind", defaults.reference_kind),
            (self.extent_combo, "extent_mode", defaults.extent_mode),
            (self.device_combo, "device", defaults.device),
        ):
            index = combo.findData(value(key, default, str))
            combo.setCurrentIndex(max(index, 0))
        self.tile_spin.setValue(value("tile_size_px", defaults.tile_size_px, int))
        self.overlap_spin.setValue(value("overlap_px", defaults.overlap_px, int))
        self.batch_spin.setValue(value("batch_size", defaults.batch_size, int))
        self.min_area_spin.setValue(value("min_gap_area_m2", defaults.min_gap_area_m2, float))
        self.max_area_spin.setValue(value("max_gap_area_m2", defaults.max_gap_area_m2, float))
        self.output_widget.setFilePath(value("output_dir", "", str))
        self.server_edit.setText(value("server_url", "", str))
        self.server_auth.setConfigId(value("server_authcfg", "", str))

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt override)
        """Keep the settings when the panel closes."""
        self.save_settings()
        super().closeEvent(event)

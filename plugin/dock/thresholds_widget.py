"""A list of gap height thresholds (metres) with add/remove and a trained-range warning."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..translation import tr
from .params import DEFAULT_THRESHOLDS_M, thresholds_outside


class ThresholdsWidget(QWidget):
    """Sorted, unique thresholds; ``set_trained_range`` shows a warning for outliers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_widget = QListWidget()
        self.list_widget.setObjectName("thresholdsList")
        self.list_widget.setMaximumHeight(80)
        self.value_spin = QDoubleSpinBox()
        self.value_spin.setRange(0.1, 100.0)
        self.value_spin.setDecimals(1)
        self.value_spin.setSuffix(" m")
        self.value_spin.setValue(5.0)
        self.add_button = QPushButton(tr("Add"))
        self.remove_button = QPushButton(tr("Remove"))
        self.warning_label = QLabel()
        self.warning_label.setObjectName("thresholdWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #b35900;")
        self.warning_label.hide()
        row = QHBoxLayout()
        for widget in (self.value_spin, self.add_button, self.remove_button):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list_widget)
        layout.addLayout(row)
        layout.addWidget(self.warning_label)
        self.add_button.clicked.connect(lambda: self.add(self.value_spin.value()))
        self.remove_button.clicked.connect(self.remove_selected)
        self._range_m = (0.0, 0.0)
        self.set_thresholds(DEFAULT_THRESHOLDS_M)

    def thresholds_m(self) -> tuple[float, ...]:
        """The listed thresholds, metres, ascending."""
        values = [float(self.list_widget.item(i).text()) for i in range(self.list_widget.count())]
        return tuple(sorted(values))

    def set_thresholds(self, thresholds_m: tuple[float, ...] | list[float]) -> None:
        """Replace the list (duplicates and non-positive values dropped)."""
        self.list_widget.clear()
        for value in sorted({float(v) for v in thresholds_m if float(v) > 0}):
            self.list_widget.addItem(f"{value:g}")
        self._update_warning()

    def add(self, threshold_m: float) -> None:
        """Add one threshold (ignored when already listed)."""
        self.set_thresholds((*self.thresholds_m(), threshold_m))

    def remove_selected(self) -> None:
        """Remove the selected threshold."""
        for item in self.list_widget.selectedItems():
            self.list_widget.takeItem(self.list_widget.row(item))
        self._update_warning()

    def set_trained_range(self, range_m: tuple[float, float]) -> None:
        """The selected model's trained range (0, 0 = unknown: no warning)."""
        self._range_m = range_m
        self._update_warning()

    def _update_warning(self) -> None:
        outside = thresholds_outside(self.thresholds_m(), self._range_m)
        if outside:
            low_m, high_m = self._range_m
            self.warning_label.setText(
                tr(
                    "{0} m outside the model's trained range {1}–{2} m: expect less reliable maps."
                ).format(", ".join(f"{t:g}" for t in outside), f"{low_m:g}", f"{high_m:g}")
            )
        self.warning_label.setVisible(bool(outside))

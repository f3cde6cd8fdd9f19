"""What the dock says: the device check, engine errors in QGIS words, the layers a run
shows, each progress line once, and an extent checked before the run starts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
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

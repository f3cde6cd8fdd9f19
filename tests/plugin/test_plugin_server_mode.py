"""The dock with a Server URL: a real `forestgaps serve` subprocess runs the model and the
plugin shows the same layers as local inference; server errors become failed outcomes."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.test_plugin_dock import add_raster, group_layers, run_and_wait

STARTUP_TIMEOUT_S = 120.0
THRESHOLDS_M = (5.0, 10.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`forestgaps serve` on a free loopback port with the bundled model; stopped after.

    Server and test share the backend-calibration cache (the environment is inherited),
    so both pick the same backend and masks can be compared cell by cell.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "forestgaps_engine.cli.main", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--model", "default",
        "--set", f"serve.temp_dir={tmp_path_factory.mktemp('server')}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}: {process.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    assert json.loads(response.read())["model_loaded"] is True
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("server did not answer /health in time")
                time.sleep(0.3)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture
def dock(require_qgis: None, qgis_iface: Any, qgis_new_project: None) -> Iterator[Any]:
    from qgis.core import QgsSettings

    from plugin.dock.dock_widget import ForestGapsDock

    QgsSettings().remove("forestgaps")
    qgis_iface.messageBar().clear_messages()
    widget = ForestGapsDock(qgis_iface)
    yield widget
    widget.deleteLater()
    QgsSettings().remove("forestgaps")


def shown_layers(dsm_name: str) -> list[tuple[str, str, Any, str]]:
    """(name, CRS, extent, file name) of every layer in the DSM's result group."""
    from qgis.core import QgsProject

    group = QgsProject.instance().layerTreeRoot().findGroup(f"ForestGaps – {dsm_name}")
    assert group is not None
    return [
        (layer.name(), layer.crs().authid(), layer.extent(), Path(layer.source()).name)
        for layer in group_layers(group)
    ]


def output_names(folder: Path) -> list[str]:
    """Files a run wrote that layers come from (QGIS adds ``.aux.xml`` statistics when it
    draws a raster; the size-frequency PNG is a local picture the server does not send)."""
    return sorted(
        path.name for path in folder.iterdir() if not path.name.endswith((".aux.xml", ".png"))
    )


def read_mask(path: Path) -> Any:
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.transform, dataset.crs


def test_server_run_shows_the_same_layers_and_masks_as_local(
    dock: Any, qgis_iface: Any, site: dict[str, Path], server_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    import numpy as np

    dsm = add_raster(site["dsm"], "dsm")
    dock.dsm_combo.setLayer(dsm)
    dock.thresholds.set_thresholds(THRESHOLDS_M)
    dock.model_edit.setText("default")
    dock.tile_spin.setValue(64)
    dock.overlap_spin.setValue(8)
    dock.output_widget.setFilePath(str(tmp_path / "local"))
    local = run_and_wait(dock, qgis_iface)
    assert local.status == "success", local.message
    local_layers = shown_layers("dsm")

    dock.server_edit.setText(server_url + "/")
    dock.output_widget.setFilePath(str(tmp_path / "server"))
    remote = run_and_wait(dock, qgis_iface)

    assert remote.status == "success", f"{remote.message} {remote.hint}"
    assert remote.params.server_url == server_url + "/"
    assert f"ForestGaps server {server_url}/" in remote.result.notes[0]
    assert shown_layers("dsm") == local_layers
    assert len(local_layers) == 6  # probability, mask, polygons per threshold
    names = output_names(tmp_path / "server")
    assert names == output_names(tmp_path / "local")
    assert names == [
        "gap_mask_t10.tif", "gap_mask_t5.tif", "gap_probability_t10.tif",
        "gap_probability_t5.tif", "gaps_t10.gpkg", "gaps_t5.gpkg", "summary.json",
    ]  # fmt: skip
    for threshold_m in THRESHOLDS_M:
        name = f"gap_mask_t{threshold_m:g}.tif"
        local_mask, local_transform, local_crs = read_mask(tmp_path / "local" / name)
        server_mask, server_transform, server_crs = read_mask(tmp_path / "server" / name)
        assert 0 < np.count_nonzero(local_mask == 1) < local_mask.size  # gaps and canopy
        assert np.array_equal(server_mask, local_mask), name
        assert (server_transform, server_crs) == (local_transform, local_crs)
    for local_item, server_item in zip(
        local.result.thresholds, remote.result.thresholds, strict=True
    ):
        assert server_item.n_gaps == local_item.n_gaps
        assert server_item.total_gap_area_m2 == pytest.approx(local_item.total_gap_area_m2)
    summary = json.loads((tmp_path / "server" / "summary.json").read_text("utf-8"))
    assert summary["server_url"] == server_url + "/"
    assert [item["threshold_m"] for item in summary["thresholds"]] == list(THRESHOLDS_M)
    # The setting survives a new panel.
    dock.save_settings()
    from plugin.dock.dock_widget import ForestGapsDock

    again = ForestGapsDock(qgis_iface)
    assert again.server_edit.text() == server_url + "/"
    again.deleteLater()


def test_unreachable_server_fails_with_the_url_and_leaves_no_files(
    dock: Any, qgis_iface: Any, site: dict[str, Path], tmp_path: Path
) -> None:
    from qgis.core import Qgis

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    dock.dsm_combo.setLayer(add_raster(site["dsm"], "dsm"))
    dock.server_edit.setText(url)
    out = tmp_path / "out"
    dock.output_widget.setFilePath(str(out))

    outcome = run_and_wait(dock, qgis_iface)

    assert outcome.status == "failed"
    assert f"cannot reach the ForestGaps server at {url}/predict" in outcome.message
    assert "forestgaps serve" in outcome.hint
    assert not out.exists() or output_names(out) == []
    critical = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert critical and url in critical[-1]
    assert dock.run_button.isEnabled()


def test_server_error_answer_becomes_an_error_with_its_hint(
    require_qgis: None, site: dict[str, Path], server_url: str, tmp_path: Path
) -> None:
    from forestgaps_engine.errors import InferenceError
    from plugin.remote import request_prediction

    with pytest.raises(InferenceError, match="HTTP 422: threshold 'x' is not a number") as caught:
        request_prediction(server_url, site["dsm"], {"thresholds": "x"})
    assert server_url in caught.value.message
    assert "thresholds=5,10" in caught.value.hint


def test_server_url_is_checked(tmp_path: Path) -> None:
    from plugin.dock.params import InferenceParams

    dsm = tmp_path / "dsm.tif"
    dsm.write_bytes(b"")
    params = InferenceParams(dsm_path=str(dsm))
    assert replace(params, server_url="https://gaps.example.org:8443/api").problems() == []
    for bad in ("ftp://host", "127.0.0.1:8000", "http://", "http://host:99999", "http://h/?q=1"):
        problems = replace(params, server_url=bad).problems()
        assert len(problems) == 1 and repr(bad) in problems[0], bad


def test_server_run_of_a_clipped_extent_uploads_a_geotiff_of_the_extent(
    require_qgis: None, site: dict[str, Path], server_url: str, tmp_path: Path
) -> None:
    import rasterio

    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    with rasterio.open(site["dsm"]) as dataset:
        left, top = dataset.bounds.left, dataset.bounds.top
    extent = (left + 16.0, top - 80.0, left + 80.0, top - 16.0)  # 64 x 64 cells
    params = InferenceParams(
        dsm_path=str(site["dsm"]), thresholds_m=(5.0,), extent_mode="canvas", extent=extent,
        tile_size_px=64, overlap_px=8, output_dir=str(tmp_path / "out"), server_url=server_url,
    )  # fmt: skip

    result = run_detection(params)

    (item,) = result.thresholds
    with rasterio.open(item.mask_path) as mask:
        assert mask.shape == (64, 64)
        assert (mask.bounds.left, mask.bounds.top) == pytest.approx((extent[0], extent[3]))


def test_cancel_while_the_server_works_stops_and_leaves_no_files(
    require_qgis: None, site: dict[str, Path], tmp_path: Path
) -> None:
    from forestgaps_engine.errors import CancelledError
    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    # A server that takes the upload and never answers.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        params = InferenceParams(
            dsm_path=str(site["dsm"]), output_dir=str(tmp_path / "out"), server_url=url
        )
        started = time.monotonic()
        messages: list[str] = []

        with pytest.raises(CancelledError):
            run_detection(
                params,
                progress=lambda _fraction, message: messages.append(message),
                cancel=lambda: time.monotonic() - started > 1.0,
            )

    assert time.monotonic() - started < 10.0
    assert "the server is predicting" in messages  # the small upload went through
    assert not (tmp_path / "out").exists() or output_names(tmp_path / "out") == []

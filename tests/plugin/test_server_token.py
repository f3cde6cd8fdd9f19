"""A `forestgaps serve --token` on 127.0.0.1 and its three clients: `predict --server`
(--token or FORESTGAPS_TOKEN), the panel and 'Detect gaps in a DSM' (a QGIS
authentication configuration holding the token). Without the token each gets one line in
its own words; with it the run works."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.test_plugin_dock import add_raster, run_and_wait
from tests.plugin.test_plugin_server_mode import free_port

TOKEN = "token-for-the-forestgaps-tests"
STARTUP_TIMEOUT_S = 120.0
# The auth database of the tests' QGIS profile (.qgis-settings) is locked with this.
MASTER_PASSWORD = "forestgaps-tests-master"


def forestgaps(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", *args],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def token_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`forestgaps serve --token TOKEN` on a free loopback port with a tiny model."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "forestgaps_engine.cli.main", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--model", str(tiny_model), "--token", TOKEN,
        "--set", f"serve.temp_dir={tmp_path_factory.mktemp('server')}",
        "--set", "inference.backend=torch", "--set", "inference.device=cpu",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}: {process.stdout.read()}")
            try:
                # /health is open without the token (liveness probes).
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


def test_predict_server_sends_the_token_from_the_flag_or_the_environment(
    token_server: str, site: dict[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("httpx")
    dsm = str(site["dsm"])
    env = {key: value for key, value in os.environ.items() if key != "FORESTGAPS_TOKEN"}
    base = ["predict", dsm, "--server", token_server, "--threshold", "5", "--tile", "64",
            "--overlap", "8"]  # fmt: skip

    refused = forestgaps(*base, "--out", str(tmp_path / "none"), env=env)
    assert refused.returncode == 2, refused.stderr
    # The CLI's error format: the error, then its hint.
    error, hint = [line for line in refused.stderr.splitlines() if line.strip()]
    assert f"ForestGaps server {token_server}/predict answered HTTP 401" in error
    assert "--token TOKEN" in hint and "FORESTGAPS_TOKEN" in hint
    assert TOKEN not in refused.stderr

    by_flag = forestgaps(*base, "--token", TOKEN, "--out", str(tmp_path / "flag"), env=env)
    assert by_flag.returncode == 0, by_flag.stderr
    assert (tmp_path / "flag" / "gap_mask_t5.tif").is_file()

    by_env = forestgaps(
        *base, "--out", str(tmp_path / "env"), env=env | {"FORESTGAPS_TOKEN": TOKEN}
    )
    assert by_env.returncode == 0, by_env.stderr
    assert (tmp_path / "env" / "gap_mask_t5.tif").is_file()


def test_token_without_server_is_refused(site: dict[str, Path], tmp_path: Path) -> None:
    done = forestgaps("predict", str(site["dsm"]), "--token", TOKEN, "--out", str(tmp_path))
    assert done.returncode == 2
    assert "--token goes with --server" in done.stderr


def token_config(name: str = "ForestGaps test server") -> str:
    """A QGIS authentication configuration (method Basic) whose password is the token."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword(MASTER_PASSWORD, True)
    config = QgsAuthMethodConfig("Basic")
    config.setName(name)
    config.setConfig("username", "forestgaps")
    config.setConfig("password", TOKEN)
    assert manager.storeAuthenticationConfig(config)
    return config.id()


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


def test_panel_needs_the_token_and_reads_it_from_a_qgis_authentication_configuration(
    dock: Any, qgis_iface: Any, site: dict[str, Path], token_server: str, tmp_path: Path
) -> None:
    from qgis.core import Qgis, QgsSettings

    dock.dsm_combo.setLayer(add_raster(site["dsm"], "dsm"))
    dock.thresholds.set_thresholds((5.0,))
    dock.tile_spin.setValue(64)
    dock.overlap_spin.setValue(8)
    dock.server_edit.setText(token_server)
    dock.output_widget.setFilePath(str(tmp_path / "refused"))

    refused = run_and_wait(dock, qgis_iface)

    assert refused.status == "failed"
    assert f"ForestGaps server {token_server}/predict answered HTTP 401" in refused.message
    assert "Server token" in refused.hint and "--" not in refused.hint
    critical = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)
    assert critical and "HTTP 401" in critical[-1] and "\n" not in critical[-1].strip()

    authcfg = token_config()
    dock.server_auth.setConfigId(authcfg)
    dock.output_widget.setFilePath(str(tmp_path / "served"))
    served = run_and_wait(dock, qgis_iface)

    assert served.status == "success", f"{served.message} {served.hint}"
    assert (tmp_path / "served" / "gap_mask_t5.tif").is_file()
    # Only the configuration's id is kept in the settings, never the token.
    dock.save_settings()
    stored = {key: QgsSettings().value(key) for key in QgsSettings().allKeys()}
    assert not any(TOKEN in str(value) for value in stored.values())
    assert authcfg in stored.values()


def test_a_missing_authentication_configuration_is_named_and_leaves_nothing(
    require_qgis: None, qgis_new_project: None, site: dict[str, Path], token_server: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # The panel's list drops an id QGIS no longer has; a run started from stored
    # parameters can still name one (a configuration deleted since).
    from forestgaps_engine.errors import ConfigError
    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    params = InferenceParams(
        dsm_path=str(site["dsm"]), server_url=token_server, server_authcfg="nosuch1",
        output_dir=str(tmp_path / "out"), thresholds_m=(5.0,),
    )  # fmt: skip
    with pytest.raises(ConfigError, match="“Server token”: .* 'nosuch1'"):
        run_detection(params)
    assert not (tmp_path / "out").exists()


def test_processing_sends_the_token_of_its_authentication_parameter(
    qgis_processing: None, started_plugin: Any, site: dict[str, Path], token_server: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    import processing
    from qgis.core import QgsProcessingException

    base = {"INPUT": str(site["dsm"]), "THRESHOLDS": "5", "TILE": 64, "OVERLAP": 8,
            "SERVER_URL": token_server}  # fmt: skip
    with pytest.raises(QgsProcessingException) as refused:
        processing.run("forestgaps:detectgaps", base | {"OUTPUT_FOLDER": str(tmp_path / "no")})
    line = str(refused.value)
    assert "HTTP 401" in line and "Server token" in line and "--token" not in line
    assert "\n" not in line.strip()

    results = processing.run(
        "forestgaps:detectgaps",
        base | {"SERVER_AUTHCFG": token_config("ForestGaps Processing test"),
                "OUTPUT_FOLDER": str(tmp_path / "yes")},
    )  # fmt: skip
    assert results["METHOD"] == "model"
    assert (tmp_path / "yes" / "gap_mask_t5.tif").is_file()

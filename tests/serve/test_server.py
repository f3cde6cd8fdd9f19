"""The real server: `forestgaps serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import write_dsm

STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}: {process.stdout.read()}")
        try:
            return httpx.get(f"{url}/health", timeout=2).json()
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("server did not answer /health in time")


def test_forestgaps_serve_answers_predict_and_stops(tiny_model_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_dir = tmp_path / "server"
    command = [
        sys.executable, "-m", "forestgaps_engine.cli.main", "serve",
        "--port", str(port), "--model", str(tiny_model_dir), "--max-upload-mb", "2",
        "--set", "inference.backend=torch", "--set", "inference.device=cpu",
        "--set", "inference.tile_size_px=64", "--set", "inference.overlap_px=8",
        "--set", f"serve.temp_dir={server_dir}",
    ]  # fmt: skip
    env = {**os.environ, "FORESTGAPS_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        health = wait_for_health(url, process)
        assert health["model_loaded"] is True
        dsm = write_dsm(tmp_path / "plot.tif")
        response = httpx.post(
            f"{url}/predict",
            files={"file": ("plot.tif", dsm.read_bytes(), "image/tiff")},
            data={"thresholds": "5"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        mask = httpx.get(url + body["thresholds"][0]["files"]["mask"], timeout=10)
        assert mask.status_code == 200 and mask.content[:2] in (b"II", b"MM")
        too_big = httpx.post(
            f"{url}/predict",
            files={"file": ("big.tif", b"\0" * 3 * 2**20)},
            data={"thresholds": "5"},
            timeout=60,
        )
        assert too_big.status_code == 413
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    # Graceful shutdown removed the private folder with uploads and results.
    assert list(server_dir.iterdir()) == []

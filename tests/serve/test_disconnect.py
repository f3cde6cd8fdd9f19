"""The real server under an abandoned request: its job is cancelled, its slot freed, a
1-pixel request is answered while a large one runs, and SIGTERM does not wait for it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import rasterio
from affine import Affine

from tests.serve.conftest import CRS
from tests.serve.test_server import free_port, wait_for_health

BOUNDARY = "forestgapsdisconnect"


def dsm_file(path: Path, size_px: int, cell_m: float) -> Path:
    """Flat canopy with one pit; ``cell_m`` cells (coarse ones are warped to the model's 1 m)."""
    heights = np.full((size_px, size_px), 220.0, np.float32)
    heights[: max(1, size_px // 4), : max(1, size_px // 4)] = 201.0
    with rasterio.open(
        path, "w", driver="GTiff", height=size_px, width=size_px, count=1, dtype="float32",
        crs=CRS, transform=Affine(cell_m, 0, 650000.0, 0, -cell_m, 6860000.0), compress="deflate",
    ) as dataset:  # fmt: skip
        dataset.write(heights, 1)
    return path


def raw_predict(port: int, content: bytes) -> socket.socket:
    """Send a whole /predict request on a raw socket, without reading the answer."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="thresholds"\r\n\r\n5\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.tif"\r\n'
            "Content-Type: image/tiff\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(head + body)
    return connection


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_for(predicate, timeout_s: float) -> float:  # noqa: ANN001 - a callable
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s:g} s")


def test_abandoned_requests_free_their_slot_and_do_not_delay_shutdown(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # 600 x 600 cells of 10 m: 36 MPix on the model's 1 m grid, tens of seconds of work.
    big = dsm_file(tmp_path / "big.tif", 600, 10.0).read_bytes()
    one_pixel = dsm_file(tmp_path / "one.tif", 1, 1.0).read_bytes()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_dir = tmp_path / "server"
    command = [
        sys.executable, "-m", "forestgaps_engine.cli.main", "serve",
        "--port", str(port), "--model", str(tiny_model_dir),
        "--set", "inference.backend=torch", "--set", "inference.device=cpu",
        # Small tiles: the engine checks for a cancel after every batch.
        "--set", "inference.tile_size_px=64", "--set", "inference.overlap_px=8",
        "--set", "serve.queue_timeout_s=3", "--set", f"serve.temp_dir={server_dir}",
    ]  # fmt: skip
    env = {**os.environ, "FORESTGAPS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("FORESTGAPS_TOKEN", None)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    running = "forestgaps_predictions_in_progress"
    try:
        wait_for_health(url, process)
        first = raw_predict(port, big)
        wait_for(lambda: metric(url, running) == 1, 30)
        # A 1-pixel request does not queue behind the large one.
        small = httpx.post(
            f"{url}/predict",
            files={"file": ("one.tif", one_pixel, "image/tiff")},
            data={"thresholds": "5"},
            timeout=30,
        )
        assert small.status_code == 200, small.text
        assert metric(url, running) == 1
        # The client gives up: the job stops and its slot frees within a few batches
        # (run to its end, the job takes minutes).
        first.close()
        wait_for(lambda: metric(url, running) == 0, 10)
        cancelled = 'forestgaps_predictions_total{outcome="cancelled"}'
        assert metric(url, cancelled) == 1
        # Abandoned again, then SIGTERM at once: the server stops without finishing it.
        second = raw_predict(port, big)
        wait_for(lambda: metric(url, running) == 1, 30)
        second.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert list(server_dir.iterdir()) == []

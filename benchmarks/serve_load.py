"""Pathological requests against a local ``forestgaps serve``; prints one JSON object.

Starts the real server (a subprocess on a free 127.0.0.1 port; never another address)
and sends a fixed list of requests, each bounded in count and time, while a thread
samples the server's resident memory with psutil (the server process; its ogr2ogr
children are reported apart). Scenarios:

- ``pits``: a 4096² DSM (a few hundred KB) with a 2 x 2 m pit every 4 m (up to a million
  gaps a threshold, just under the default gap bound), at
  two thresholds; then the GeoJSON download of one threshold (made by ogr2ogr).
- ``pits_gap_bound``: the same pattern on an 8192² grid (67 MPix, under the pixel limit)
  at ten thresholds: refused before work (the gaps it could hold are over
  ``serve.max_gaps_per_threshold``).
- ``coarse_cells``: 512 x 512 cells of 100 m, warped to 25600² at the model's 2 m:
  refused before work (the grid the model would run on is over the pixel limit).
- ``small_during_large``: a 1-pixel request sent while a large prediction runs.
- ``abandoned``: a large request whose client leaves; time until its slot is free.
- ``truncated``: a GeoTIFF cut short: 400 before work.

Usage:
    python benchmarks/serve_load.py                     # the bundled default model
    python benchmarks/serve_load.py --model path/to/model --large-px 3072
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.machine import cpu_name

HOST = "127.0.0.1"
BOUNDARY = "forestgapsload"
REQUEST_TIMEOUT_S = 600.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def write_dsm(path: Path, heights: Callable[[int, int], np.ndarray], size_px: int,
              cell_m: float = 1.0, strip_rows: int = 512) -> Path:  # fmt: skip
    """A float32 GeoTIFF (EPSG:2154, deflate with the float predictor) written by strips."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    profile = {
        "driver": "GTiff", "height": size_px, "width": size_px, "count": 1,
        "dtype": "float32", "crs": "EPSG:2154", "nodata": -9999.0,
        "transform": Affine(cell_m, 0, 650000.0, 0, -cell_m, 6860000.0),
        "tiled": True, "blockxsize": 256, "blockysize": 256,
        "compress": "deflate", "predictor": 3,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dataset:
        for row_off in range(0, size_px, strip_rows):
            n_rows = min(strip_rows, size_px - row_off)
            dataset.write(heights(row_off, n_rows), 1, window=Window(0, row_off, size_px, n_rows))
    return path


def pits(size_px: int) -> Callable[[int, int], np.ndarray]:
    """Flat 25 m canopy with a 2 x 2 cell pit down to 2 m every 4 cells."""

    def strip(row_off: int, n_rows: int) -> np.ndarray:
        rows = np.arange(row_off, row_off + n_rows)[:, None] % 4 < 2
        cols = np.arange(size_px)[None, :] % 4 < 2
        return np.where(rows & cols, np.float32(2.0), np.float32(25.0))

    return strip


def canopy(size_px: int) -> Callable[[int, int], np.ndarray]:
    """A wavy 20-28 m canopy with a few large gaps (a prediction of ordinary cost)."""

    def strip(row_off: int, n_rows: int) -> np.ndarray:
        rows = np.arange(row_off, row_off + n_rows, dtype=np.float32)[:, None]
        cols = np.arange(size_px, dtype=np.float32)[None, :]
        heights = 24.0 + 4.0 * np.sin(rows / 7.0) * np.cos(cols / 9.0)
        heights[((rows // 200) % 3 == 0) & ((cols // 200) % 3 == 0)] = 1.0
        return heights.astype(np.float32)

    return strip


def multipart(content: bytes, name: str, fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/tiff\r\n\r\n".encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={BOUNDARY}"


class MemorySampler:
    """Peak RSS of a process (and, apart, of its children) sampled every ``period_s``."""

    def __init__(self, pid: int, period_s: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.period_s = period_s
        self.peak_rss_mb = 0.0
        self.peak_children_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                rss = self.process.memory_info().rss / 2**20
                children = 0.0
                for child in self.process.children(recursive=True):
                    try:
                        children += child.memory_info().rss / 2**20
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            self.peak_children_rss_mb = max(self.peak_children_rss_mb, children)
            time.sleep(self.period_s)

    def reset(self) -> None:
        self.peak_rss_mb = self.peak_children_rss_mb = 0.0

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Server:
    """``forestgaps serve`` on a free loopback port, stopped with SIGTERM."""

    def __init__(self, model: str, work: Path, extra: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        command = [
            sys.executable, "-m", "forestgaps_engine.cli.main", "serve",
            "--host", HOST, "--port", str(self.port), "--model", model,
            "--set", f"serve.temp_dir={work / 'server'}", *extra,
        ]  # fmt: skip
        env = {**os.environ, "FORESTGAPS_CACHE_DIR": str(work / "cache")}
        env.pop("FORESTGAPS_TOKEN", None)
        self.log = open(work / "server.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout_s: float) -> float:
        import httpx

        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).json()["model_loaded"]:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout_s:g} s")

    def metric(self, name: str) -> float:
        import httpx

        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, flags=re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def stop(self) -> float:
        """SIGTERM; seconds until the process exited."""
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return time.perf_counter() - started


def post(url: str, path: Path, fields: dict[str, str]) -> dict[str, Any]:
    """POST /predict; status, latency, answer size and (on 200) the JSON."""
    import httpx

    body, content_type = multipart(path.read_bytes(), path.name, fields)
    started = time.perf_counter()
    response = httpx.post(
        f"{url}/predict",
        content=body,
        headers={"content-type": content_type},
        timeout=REQUEST_TIMEOUT_S,
    )
    figures: dict[str, Any] = {
        "status": response.status_code,
        "latency_s": round(time.perf_counter() - started, 3),
        "upload_mb": round(path.stat().st_size / 2**20, 3),
        "answer_kb": round(len(response.content) / 1024, 1),
    }
    answer = response.json()
    if response.status_code == 200:
        figures["n_gaps"] = [item["n_gaps"] for item in answer["thresholds"]]
        figures["answer"] = answer
    else:
        figures["error"] = answer.get("error")
    return figures


@contextmanager
def measured(sampler: MemorySampler, into: dict[str, Any]) -> Iterator[None]:
    sampler.reset()
    yield
    into["server_peak_rss_mb"] = round(sampler.peak_rss_mb, 1)
    into["children_peak_rss_mb"] = round(sampler.peak_children_rss_mb, 1)


def raw_request(port: int, path: Path, fields: dict[str, str]) -> socket.socket:
    """Send a whole /predict request on a raw socket and leave the answer unread."""
    body, content_type = multipart(path.read_bytes(), path.name, fields)
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection((HOST, port))
    connection.sendall(head + body)
    return connection


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> float | None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if predicate():
            return round(time.perf_counter() - started, 3)
        time.sleep(0.1)
    return None


def run_scenarios(server: Server, sampler: MemorySampler, files: dict[str, Path]) -> dict:
    import httpx

    results: dict[str, Any] = {}
    running = "forestgaps_predictions_in_progress"

    figures: dict[str, Any] = {}
    with measured(sampler, figures):
        figures.update(post(server.url, files["pits"], {"thresholds": "5,10"}))
    answer = figures.pop("answer", None)
    if answer is not None:
        link = answer["thresholds"][0]["files"].get("gaps_geojson")
        if link:
            download: dict[str, Any] = {}
            with measured(sampler, download):
                started = time.perf_counter()
                response = httpx.get(server.url + link, timeout=REQUEST_TIMEOUT_S)
                download["latency_s"] = round(time.perf_counter() - started, 3)
            download["status"] = response.status_code
            download["geojson_mb"] = round(len(response.content) / 2**20, 2)
            figures["geojson_download"] = download
    results["pits"] = figures

    for name, fields in (
        ("pits_gap_bound", {"thresholds": ",".join(str(t) for t in range(2, 22, 2))}),
        ("coarse_cells", {"thresholds": "5"}),
        ("truncated", {"thresholds": "5"}),
    ):
        figures = {}
        with measured(sampler, figures):
            figures.update(post(server.url, files[name], fields))
        figures.pop("answer", None)
        results[name] = figures

    # A 1-pixel request while a large prediction holds the general slot.
    figures = {}
    with measured(sampler, figures):
        large = raw_request(server.port, files["large"], {"thresholds": "5"})
        figures["large_started_after_s"] = wait_until(lambda: server.metric(running) >= 1, 60)
        small = post(server.url, files["one_pixel"], {"thresholds": "5"})
        small.pop("answer", None)
        figures["one_pixel"] = small
        figures["large_still_running"] = server.metric(running) >= 1
        # The large request's client leaves: its job is cancelled and the slot frees.
        large.close()
        figures["slot_free_after_disconnect_s"] = wait_until(
            lambda: server.metric(running) == 0, 120
        )
    results["small_during_large"] = figures

    # Abandoned, then SIGTERM at once: the server should not finish the job first.
    figures = {}
    abandoned = raw_request(server.port, files["large"], {"thresholds": "5"})
    figures["large_started_after_s"] = wait_until(lambda: server.metric(running) >= 1, 60)
    abandoned.close()
    figures["sigterm_exit_s"] = round(server.stop(), 3)
    figures["exit_code"] = server.process.returncode
    results["abandoned_then_sigterm"] = figures
    return results


def make_files(work: Path, large_px: int) -> dict[str, Path]:
    """The uploads, written once (the pits DSMs compress to a few MB)."""
    files = {
        "pits": write_dsm(work / "pits.tif", pits(4096), 4096),
        "pits_gap_bound": write_dsm(work / "pits8k.tif", pits(8192), 8192),
        "coarse_cells": write_dsm(work / "coarse.tif", canopy(512), 512, cell_m=100.0),
        "large": write_dsm(work / "large.tif", canopy(large_px), large_px),
        "one_pixel": write_dsm(work / "one.tif", canopy(1), 1),
    }
    whole = write_dsm(work / "whole.tif", canopy(1024), 1024).read_bytes()
    (work / "truncated.tif").write_bytes(whole[: len(whole) // 2])
    files["truncated"] = work / "truncated.tif"
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="model folder (default: bundled)")
    parser.add_argument("--backend", default="torch", help="inference.backend")
    parser.add_argument(
        "--large-px", type=int, default=4096, help="side of the large request's DSM, px (1 m)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forestgaps-serve-load-") as folder:
        work = Path(folder)
        files = make_files(work, args.large_px)
        server = Server(
            args.model,
            work,
            ["--set", f"inference.backend={args.backend}", "--set", "inference.device=cpu"],
        )
        try:
            startup_s = server.wait_ready(timeout_s=300)
            with MemorySampler(server.process.pid) as sampler:
                idle_rss_mb = round(sampler.process.memory_info().rss / 2**20, 1)
                scenarios = run_scenarios(server, sampler, files)
        finally:
            if server.process.poll() is None:
                server.stop()
        upload_mb = {name: round(path.stat().st_size / 2**20, 3) for name, path in files.items()}
    peaks = [
        figures.get("server_peak_rss_mb", 0.0)
        for figures in scenarios.values()
        if isinstance(figures, dict)
    ]
    overall_peak_mb = max(peaks)
    report = {
        "benchmark": "serve_load",
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "host": HOST,
        "model": args.model,
        "backend": args.backend,
        "startup_s": round(startup_s, 2),
        "server_idle_rss_mb": idle_rss_mb,
        "server_peak_rss_mb": overall_peak_mb,
        "upload_mb": upload_mb,
        "scenarios": scenarios,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

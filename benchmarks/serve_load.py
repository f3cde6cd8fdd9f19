"""Loopback load test of ``forestgaps serve``; prints one JSON object.

Starts the real server (a subprocess on a free 127.0.0.1 port), then, for each
concurrency level, sends a fixed number of ``POST /predict`` requests with the same
synthetic DSM and reports requests/s and latency percentiles. Bounded: a fixed request
count per level and a time cap after which no new request is sent. Never leaves 127.0.0.1.

Usage:
    python benchmarks/serve_load.py                      # 50 requests at 1 and 4 clients
    python benchmarks/serve_load.py --size 512 --requests 20 --concurrency 1,2,4
    python benchmarks/serve_load.py --model path/to/model --backend auto
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.inference import benchmark_model, synthetic_dsm  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(
    model: Path, port: int, args: argparse.Namespace, work: Path
) -> tuple[subprocess.Popen, Any]:
    command = [
        sys.executable, "-m", "forestgaps_engine.cli.main", "serve",
        "--host", HOST, "--port", str(port), "--model", str(model),
        "--set", f"inference.backend={args.backend}", "--set", "inference.device=cpu",
        "--set", f"serve.temp_dir={work / 'server'}",
        "--set", f"serve.max_concurrent_predictions={args.slots}",
    ]  # fmt: skip
    env = {**os.environ, "FORESTGAPS_CACHE_DIR": str(work / "cache")}
    log = open(work / "server.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), log


def wait_ready(url: str, process: subprocess.Popen, timeout_s: float) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).json()["model_loaded"]:
                return time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout_s:g} s")


def run_level(
    url: str, payload: bytes, concurrency: int, n_requests: int, max_seconds: float
) -> dict[str, Any]:
    """``n_requests`` POSTs from ``concurrency`` clients; stops sending at ``max_seconds``."""
    import httpx

    deadline = time.perf_counter() + max_seconds

    def one(_index: int) -> tuple[float, int] | None:
        if time.perf_counter() > deadline:
            return None
        started = time.perf_counter()
        with httpx.Client(timeout=max_seconds + 60) as client:
            response = client.post(
                f"{url}/predict",
                files={"file": ("dsm.tif", payload, "image/tiff")},
                data={"thresholds": "5,10"},
            )
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = [item for item in pool.map(one, range(n_requests)) if item is not None]
    wall_s = time.perf_counter() - started
    latencies_s = np.array([latency for latency, status in results if status == 200])
    failures = sum(1 for _latency, status in results if status != 200)
    figures: dict[str, Any] = {
        "concurrency": concurrency,
        "requests_sent": len(results),
        "requests_ok": int(latencies_s.size),
        "requests_failed": failures,
        "stopped_by_time_cap": len(results) < n_requests,
        "wall_s": round(wall_s, 3),
        "requests_per_s": round(latencies_s.size / wall_s, 3),
    }
    if latencies_s.size:
        p50, p90, p99 = np.percentile(latencies_s, [50, 90, 99])
        figures.update(
            latency_p50_s=round(float(p50), 4),
            latency_p90_s=round(float(p90), 4),
            latency_p99_s=round(float(p99), 4),
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model folder (default: random tiny U-Net)")
    parser.add_argument("--size", type=int, default=256, help="DSM side, px (1 m)")
    parser.add_argument("--requests", type=int, default=50, help="requests per level")
    parser.add_argument("--concurrency", default="1,4", help="client counts, comma separated")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time cap per level")
    parser.add_argument("--backend", default="torch", choices=("auto", "torch", "onnxruntime"))
    parser.add_argument("--slots", type=int, default=1, help="serve.max_concurrent_predictions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forestgaps-serve-load-") as folder:
        work = Path(folder)
        model = args.model or benchmark_model(work / "model", "unet", 16)
        payload = synthetic_dsm(work / "dsm.tif", args.size).read_bytes()
        port = free_port()
        url = f"http://{HOST}:{port}"
        process, log = start_server(model, port, args, work)
        try:
            startup_s = wait_ready(url, process, timeout_s=180)
            run_level(url, payload, 1, 2, args.max_seconds)  # warm-up
            levels = [
                run_level(url, payload, int(level), args.requests, args.max_seconds)
                for level in args.concurrency.split(",")
            ]
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
    report = {
        "benchmark": "serve_load",
        "host": HOST,
        "dsm_size_px": args.size,
        "dsm_mpix": args.size * args.size / 1e6,
        "thresholds": [5.0, 10.0],
        "backend": args.backend,
        "prediction_slots": args.slots,
        "cpu_count": os.cpu_count(),
        "startup_s": round(startup_s, 2),
        "levels": levels,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

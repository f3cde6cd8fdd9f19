"""Resource use of this process: CPU %, resident memory (psutil), GPU memory."""

from __future__ import annotations

import time

import psutil
import torch


class ResourceMeter:
    """Samples CPU % since the previous call, RSS and GPU memory."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._wall_s = time.perf_counter()
        self._cpu_s = self._cpu_seconds()

    def _cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def sample(self) -> dict[str, float]:
        """``cpu_percent`` (100 = one core busy), ``ram_mb``, and ``gpu_mem_mb`` on CUDA."""
        wall_s, cpu_s = time.perf_counter(), self._cpu_seconds()
        elapsed_s = max(wall_s - self._wall_s, 1e-9)
        values = {
            "cpu_percent": 100.0 * (cpu_s - self._cpu_s) / elapsed_s,
            "ram_mb": self._process.memory_info().rss / 2**20,
        }
        self._wall_s, self._cpu_s = wall_s, cpu_s
        if torch.cuda.is_available():
            values["gpu_mem_mb"] = torch.cuda.memory_allocated() / 2**20
            values["gpu_max_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
        return values

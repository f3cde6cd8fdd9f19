"""Data-loader auto-calibration: measure a few settings on the real dataset, keep the fastest.

With ``training.num_workers = "auto"``, :func:`calibrate_loader` tries worker counts x
prefetch depths (x pinned memory on CUDA) for ``trial_s`` seconds each, iterating the real
training loader (epochs restart inside a trial, so worker start-up is paid as often as in
training), and returns the setting with the most samples per second. The choice is cached
per machine in ``<cache dir>/loader_calibration.json`` under a key made of the CPU model and
count, the tile size, the batch size, the device type and the worker cap, so the next run
on the same machine and dataset shape skips the measurement. ``FORESTGAPS_CACHE_DIR``
overrides the cache location (default ``~/.cache/forestgaps``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from forestgaps_engine.files import cache_dir as default_cache_dir
from forestgaps_engine.files import read_json_mapping, store_in_json_cache
from forestgaps_engine.machine import cpu_name

logger = logging.getLogger(__name__)

CACHE_FILE = "loader_calibration.json"
DEFAULT_TRIAL_S = 2.0
PREFETCH_FACTORS = (2, 4)
# A setting with more workers must beat a cheaper one by this much: fewer processes use
# less memory and start faster, and a few percent is within what a short trial mismeasures.
MIN_GAIN = 1.05


@dataclass(frozen=True)
class LoaderSetting:
    """DataLoader arguments under test (``prefetch_factor`` is None without workers)."""

    num_workers: int
    prefetch_factor: int | None
    pin_memory: bool

    def loader_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``torch.utils.data.DataLoader``."""
        kwargs: dict[str, object] = {
            "num_workers": self.num_workers,
            "pin_memory": self.pin_memory,
        }
        if self.num_workers > 0:
            kwargs["prefetch_factor"] = self.prefetch_factor
        return kwargs

    def cost(self) -> tuple[int, int, bool]:
        """Resources a setting uses; the cheaper of two equally fast settings wins."""
        return (self.num_workers, self.prefetch_factor or 0, self.pin_memory)


@dataclass(frozen=True)
class Calibration:
    """The chosen setting, its throughput (samples/s) and how it was obtained."""

    setting: LoaderSetting
    samples_per_s: float
    from_cache: bool
    measurements: list[tuple[LoaderSetting, float]] = field(default_factory=list)


def cache_key(tile_size_px: int, batch_size: int, device_type: str, max_workers: int) -> str:
    """What makes a measured choice valid elsewhere: same CPU, same sample shape, same cap."""
    return (
        f"{cpu_name()}|cpus={os.cpu_count()}|tile={tile_size_px}px|batch={batch_size}"
        f"|device={device_type}|max_workers={max_workers}"
    )


def candidate_settings(max_workers: int, can_pin: bool) -> list[LoaderSetting]:
    """0, 1, 2, 4, ... workers up to ``max_workers`` x prefetch 2/4 x pinned (when it helps)."""
    counts = sorted({0, max_workers, *(2**power for power in range(max_workers.bit_length()))})
    pins = (False, True) if can_pin else (False,)
    return [
        LoaderSetting(workers, prefetch, pin)
        for workers in counts
        for prefetch in (PREFETCH_FACTORS if workers > 0 else (None,))
        for pin in pins
    ]


def measure_throughput(
    loader: Iterable,
    trial_s: float,
    clock: Callable[[], float] = time.perf_counter,
    max_epochs: int = 100,
) -> float:
    """Samples per second drawn from ``loader`` over about ``trial_s`` seconds.

    Args:
        loader: yields batches, dicts with ``dsm`` of shape (B, ...) as the trainer reads.
        trial_s: how long to draw; epochs restart until it has passed.
        clock: seconds (a fake clock in tests).
        max_epochs: stop after this many passes even if ``trial_s`` has not passed.
    """
    started_s = clock()
    samples = 0
    for _ in range(max_epochs):
        for batch in loader:
            samples += int(batch["dsm"].shape[0])
            if clock() - started_s >= trial_s:
                return samples / (clock() - started_s)
    return samples / max(clock() - started_s, 1e-9)


def calibrate_loader(
    make_loader: Callable[[LoaderSetting], Iterable],
    tile_size_px: int,
    batch_size: int,
    max_workers: int,
    can_pin: bool = False,
    device_type: str = "cpu",
    trial_s: float | None = None,
    cache_dir: str | Path | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Calibration:
    """The fastest DataLoader setting for this machine and dataset, measured or cached.

    Args:
        make_loader: builds the real training loader with a given setting.
        tile_size_px: tile side of the dataset (part of the cache key).
        batch_size: per-process batch size (part of the cache key).
        max_workers: the environment's cap (0 in QGIS: nothing to measure).
        can_pin: whether pinned memory can help (a CUDA device).
        device_type: ``cpu`` / ``cuda`` / ``mps`` (part of the cache key).
        trial_s: seconds per setting (None: ``DEFAULT_TRIAL_S``).
        cache_dir: where ``loader_calibration.json`` lives (None: :func:`default_cache_dir`).
        clock: seconds (a fake clock in tests).

    Returns:
        The chosen setting; ``measurements`` lists every trial (empty on a cache hit).
    """
    candidates = candidate_settings(max(0, max_workers), can_pin)
    if len(candidates) == 1:
        return Calibration(candidates[0], 0.0, from_cache=False)
    path = Path(cache_dir or default_cache_dir()) / CACHE_FILE
    key = cache_key(tile_size_px, batch_size, device_type, max_workers)
    cached = read_json_mapping(path).get(key)
    if cached:
        try:
            setting = LoaderSetting(**cached["setting"])
            if setting in candidates:
                return Calibration(setting, float(cached["samples_per_s"]), from_cache=True)
        except (KeyError, TypeError):
            logger.debug("ignoring a malformed loader calibration entry in %s", path)
    measurements = []
    for setting in candidates:
        rate = measure_throughput(make_loader(setting), trial_s or DEFAULT_TRIAL_S, clock)
        logger.debug("loader %s: %.1f samples/s", setting, rate)
        measurements.append((setting, rate))
    best, best_rate = measurements[0]
    for setting, rate in measurements[1:]:
        if rate > best_rate * MIN_GAIN or (rate >= best_rate and setting.cost() < best.cost()):
            best, best_rate = setting, rate
    measured_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    store_in_json_cache(path, key, {"setting": asdict(best), "samples_per_s": best_rate,
                                    "measured_at": measured_at})  # fmt: skip
    return Calibration(best, best_rate, from_cache=False, measurements=measurements)

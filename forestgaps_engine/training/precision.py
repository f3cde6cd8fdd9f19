"""Mixed precision: resolve ``training.amp`` to an autocast dtype and a grad scaler.

On CPU, bf16 autocast is faster only on some processors (AMX/AVX512-BF16), so ``auto``
measures it once with a short probe on a copy of the model and keeps fp32 unless bf16
wins clearly. On CUDA, ``auto`` is bf16 where supported, else fp16 with a GradScaler.

A timing probe can decide differently from run to run, and the two precisions give
different weights from one seed. So the probe's choice is cached per machine, model and
tile size (``cpu_bf16_choice.json`` in the cache folder): the same seed then gives the
same weights on the same machine. Checkpoints and the model card record the precision
used (``Precision.name``), and a resumed run keeps it (``precision_named``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn

from forestgaps_engine.errors import TrainingError
from forestgaps_engine.files import cache_dir, read_json_mapping, store_in_json_cache
from forestgaps_engine.machine import cpu_name
from forestgaps_engine.training.state import run_record

logger = logging.getLogger(__name__)

# Below this the gain is within what a short probe mismeasures: stay in fp32.
CPU_BF16_MIN_SPEEDUP = 1.25
PROBE_WARMUP = 1
PROBE_REPEATS = 3
PRECISION_NAMES = ("fp32", "bf16", "fp16")
CPU_CHOICE_FILE = "cpu_bf16_choice.json"


@dataclass(frozen=True)
class Precision:
    """The resolved precision of one run."""

    dtype: torch.dtype | None  # None: full fp32
    uses_grad_scaler: bool
    reason: str

    @property
    def name(self) -> str:
        """``fp32``, ``bf16`` or ``fp16``: what checkpoints and model cards record."""
        if self.dtype is None:
            return "fp32"
        return "bf16" if self.dtype == torch.bfloat16 else "fp16"

    def autocast(self, device: torch.device) -> AbstractContextManager:
        """An autocast context for ``device`` (a no-op context in fp32)."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)

    def grad_scaler(self, device: torch.device) -> torch.amp.GradScaler:
        """A GradScaler that is enabled only for fp16."""
        return torch.amp.GradScaler(device.type, enabled=self.uses_grad_scaler)


def _median_times(steps: dict[str, Callable[[], None]]) -> dict[str, float]:
    """Median seconds per call of each step, interleaved so load changes hit both alike."""
    for step in steps.values():  # warm-up: allocation, kernel selection, lazy init
        for _ in range(PROBE_WARMUP):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(PROBE_REPEATS):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def probe_cpu_bf16_speedup(model: nn.Module, tile_size_px: int = 96, batch_size: int = 2) -> float:
    """fp32 time / bf16-autocast time of a forward+backward step on a copy of ``model``."""
    probe = copy.deepcopy(model).cpu().train()
    generator = torch.Generator().manual_seed(0)
    # A model with a terrain prior takes it as a second band.
    bands = int(getattr(model, "input_bands", 1))
    dsm = torch.randn(batch_size, bands, tile_size_px, tile_size_px, generator=generator)
    threshold_m = torch.full((batch_size,), 5.0)
    rng_state = torch.get_rng_state()  # dropout in the probe must not shift training's RNG

    def step(dtype: torch.dtype | None) -> None:
        context = torch.autocast("cpu", dtype=dtype) if dtype else nullcontext()
        with context:
            output = probe(dsm, threshold_m)
        output.float().mean().backward()
        probe.zero_grad(set_to_none=True)

    try:
        times_s = _median_times(
            {"fp32": partial(step, None), "bf16": partial(step, torch.bfloat16)}
        )
    finally:
        torch.set_rng_state(rng_state)
    return times_s["fp32"] / max(times_s["bf16"], 1e-9)


def precision_named(name: str, device: torch.device, source: str = "checkpoint") -> Precision:
    """The :class:`Precision` a checkpoint recorded (``fp32``/``bf16``/``fp16``) on ``device``.

    Raises:
        TrainingError: an unknown name, or fp16 outside CUDA.
    """
    if name == "fp32":
        return Precision(None, False, f"fp32, as recorded in the {source}")
    if name == "bf16":
        return Precision(torch.bfloat16, False, f"bf16, as recorded in the {source}")
    if name == "fp16" and device.type == "cuda":
        return Precision(torch.float16, True, f"fp16 with GradScaler, as recorded in the {source}")
    raise TrainingError(
        f"the {source} records precision {name!r}, which {device.type} cannot train in "
        f"(known: {', '.join(PRECISION_NAMES)})",
        hint="Resume on the kind of device that started the run, or start without --resume.",
    )


def _choice_key(model: nn.Module, tile_size_px: int) -> str:
    record = run_record(model, "")
    params = json.dumps(record["params"], sort_keys=True, default=str)
    return (
        f"{cpu_name()}|cpus={os.cpu_count()}|torch={torch.__version__}|"
        f"{record['architecture']}|{params}|tile={tile_size_px}px"
    )


def cpu_auto_precision(model: nn.Module, tile_size_px: int) -> Precision:
    """bf16 or fp32 for ``amp=auto`` on CPU: the cached choice, else probe once and cache.

    An unwritable cache only costs the next run a new probe (with a warning).
    """
    key = _choice_key(model, tile_size_px)
    choice_file = cache_dir() / CPU_CHOICE_FILE
    cached = read_json_mapping(choice_file).get(key)
    if isinstance(cached, dict) and cached.get("precision") in ("fp32", "bf16"):
        speedup = float(cached.get("bf16_speedup", 0.0))
        chosen = precision_named(str(cached["precision"]), torch.device("cpu"))
        return replace(
            chosen,
            reason=f"amp=auto on CPU: {chosen.name} (bf16 measured {speedup:.2f}x fp32 on this "
            f"machine, cached in {choice_file})",
        )
    speedup = probe_cpu_bf16_speedup(model, tile_size_px)
    name = "bf16" if speedup >= CPU_BF16_MIN_SPEEDUP else "fp32"
    store_in_json_cache(choice_file, key, {"precision": name, "bf16_speedup": round(speedup, 4)})
    if name == "bf16":
        return Precision(torch.bfloat16, False, f"amp=auto on CPU: bf16 is {speedup:.2f}x faster")
    return Precision(None, False, f"amp=auto on CPU: bf16 is {speedup:.2f}x fp32, keeping fp32")


def resolve_precision(
    amp: str, device: torch.device, model: nn.Module | None = None, probe_tile_size_px: int = 96
) -> Precision:
    """Turn the config value (auto/off/bf16/fp16) into a :class:`Precision` for ``device``.

    Args:
        amp: ``training.amp``.
        device: the training device.
        model: probed on CPU with ``auto`` (a copy; None skips the probe and keeps fp32).
            The probe's choice is cached per machine, model and tile size.
        probe_tile_size_px: tile side of the probe; use the training tile size, since small
            tiles overstate bf16's gain.
    """
    if amp == "off":
        return Precision(None, False, "amp=off")
    if device.type == "cuda":
        if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
            return Precision(torch.bfloat16, False, f"amp={amp} on CUDA: bf16")
        return Precision(torch.float16, True, f"amp={amp} on CUDA: fp16 with GradScaler")
    if device.type != "cpu":
        return Precision(None, False, f"amp={amp}: fp32 on {device.type}")
    if amp == "fp16":
        return Precision(None, False, "amp=fp16 is not supported on CPU: fp32")
    if amp == "bf16":
        return Precision(torch.bfloat16, False, "amp=bf16 on CPU (forced)")
    if model is None:
        return Precision(None, False, "amp=auto on CPU without a probe: fp32")
    return cpu_auto_precision(model, probe_tile_size_px)

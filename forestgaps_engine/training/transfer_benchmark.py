"""CPU -> GPU batch transfer speed: pageable vs pinned memory, blocking vs non-blocking copies.

Run once at the start of a CUDA training to show in the log whether host-to-device copies
could limit the input pipeline (and whether pinned memory, which the loader calibration may
pick, pays off on this machine).
"""

from __future__ import annotations

import logging
import time

import torch

logger = logging.getLogger(__name__)


def benchmark_transfer(
    batch_shape: tuple[int, ...], device: torch.device, repeats: int = 10
) -> dict[str, float]:
    """GB/s of copying one float32 batch of ``batch_shape`` to ``device``, four ways.

    Args:
        batch_shape: e.g. (B, 1, H, W) of a training batch.
        device: a CUDA device.
        repeats: copies per variant (after one warm-up copy).

    Returns:
        ``{"pageable_blocking_gb_s", "pageable_non_blocking_gb_s", "pinned_blocking_gb_s",
        "pinned_non_blocking_gb_s"}``.
    """
    pageable = torch.rand(batch_shape)
    pinned = pageable.pin_memory()
    size_gb = pageable.numel() * pageable.element_size() / 1e9
    results = {}
    for memory, source in (("pageable", pageable), ("pinned", pinned)):
        for mode, non_blocking in (("blocking", False), ("non_blocking", True)):
            source.to(device, non_blocking=non_blocking)
            torch.cuda.synchronize(device)
            started_s = time.perf_counter()
            for _ in range(repeats):
                source.to(device, non_blocking=non_blocking)
            torch.cuda.synchronize(device)
            elapsed_s = max(time.perf_counter() - started_s, 1e-9)
            results[f"{memory}_{mode}_gb_s"] = repeats * size_gb / elapsed_s
    return results


def log_transfer_benchmark(batch_shape: tuple[int, ...], device: torch.device) -> dict[str, float]:
    """Run :func:`benchmark_transfer` and log it (a skip line on CPU/MPS)."""
    if device.type != "cuda":
        logger.info("CPU->GPU transfer benchmark skipped: training on %s", device.type)
        return {}
    results = benchmark_transfer(batch_shape, device)
    logger.info(
        "CPU->GPU transfer of a %s batch: %s",
        "x".join(str(s) for s in batch_shape),
        ", ".join(
            f"{name.removesuffix('_gb_s')} {value:.1f} GB/s" for name, value in results.items()
        ),
    )
    return results

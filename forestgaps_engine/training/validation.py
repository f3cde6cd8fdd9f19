"""Validation pass and batch counting, kept beside the trainer so the loop stays short."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

from forestgaps_engine.errors import TrainingError
from forestgaps_engine.metrics.pixel import (
    ConfusionCounts,
    confusion_counts_by_threshold,
    merge_counts,
    summarize,
)
from forestgaps_engine.training import distributed

if TYPE_CHECKING:
    from forestgaps_engine.training.trainer import Trainer

logger = logging.getLogger(__name__)


def count_batches(loader: Iterable, max_batches: int = 0) -> int:
    """Micro-batches per epoch: ``len(loader)`` when known, else one counting pass.

    Args:
        loader: a DataLoader or any re-iterable of batches.
        max_batches: a cap (0 = none), e.g. ``training.max_steps_per_epoch``.

    Raises:
        TrainingError: when the loader yields nothing.
    """
    try:
        count = len(loader)  # type: ignore[arg-type]
    except TypeError:
        if max_batches:
            return max_batches
        logger.info("the training loader has no length; counting its batches once")
        count = sum(1 for _ in loader)
    if max_batches:
        count = min(count, max_batches)
    if count <= 0:
        raise TrainingError(
            "the training data yields no batch",
            hint="Check the prepared shards (forestgaps prepare) and training.batch_size.",
        )
    return count


@torch.no_grad()
def run_validation(trainer: Trainer, loader: Iterable) -> dict[str, float]:
    """Loss and per-threshold pixel metrics over ``loader``, summed over ranks.

    Returns:
        ``val_loss`` and :func:`summarize` metrics prefixed ``val_`` (``val_iou``,
        ``val_f1_t5``...). The counts themselves land in ``trainer.last_val_counts``.
    """
    trainer.model.eval()
    loss_sum, samples = 0.0, 0
    parts: list[dict[float, ConfusionCounts]] = []
    for raw_batch in loader:
        trainer.reporter.check()
        batch = trainer.to_device(raw_batch)
        logits = trainer.forward(batch)
        loss = trainer.loss_fn(logits, batch["mask"], batch["valid"], batch["threshold_m"])
        size = int(batch["dsm"].shape[0])
        loss_sum += float(loss) * size
        samples += size
        if not parts:  # the first batch is what monitoring draws
            trainer.last_val_batch = batch
            trainer.last_val_logits = logits.detach()
        parts.append(
            confusion_counts_by_threshold(
                logits.float() > 0, batch["mask"], batch["valid"], batch["threshold_m"]
            )
        )
    trainer.model.train()
    counts = merge_counts(parts)
    if trainer.context.is_distributed:
        counts = _reduce_counts(counts, trainer)
        loss_sum, samples = distributed.all_reduce_sum([loss_sum, float(samples)])
    trainer.last_val_counts = counts
    logs = {"val_loss": loss_sum / samples if samples else math.nan}
    logs.update(summarize(counts, prefix="val_"))
    return logs


def _reduce_counts(
    counts: dict[float, ConfusionCounts], trainer: Trainer
) -> dict[float, ConfusionCounts]:
    # Every rank must reduce the same vector: agree on the thresholds first.
    gathered: list[list[float]] = [[] for _ in range(trainer.context.world_size)]
    dist.all_gather_object(gathered, sorted(counts))
    thresholds_m = sorted({t for part in gathered for t in part})
    flat = [float(v) for t in thresholds_m for v in counts.get(t, ConfusionCounts()).as_list()]
    total = distributed.all_reduce_sum(flat)
    return {
        t: ConfusionCounts(*(int(round(v)) for v in total[4 * i : 4 * i + 4]))
        for i, t in enumerate(thresholds_m)
    }

"""Batch-norm statistics recomputed for the current weights before a model is scored.

In training mode a BatchNorm layer normalises with the batch's own statistics and keeps an
exponential average (momentum 0.1, about the last ten batches) for evaluation. While the
weights move fast (a high learning rate, a short run) that average describes weights that
no longer exist, and the evaluation-mode network drifts from the one the loss trained: on
64 px tiles after 40 steps at lr 3e-3, DeepLabV3+ scored IoU 0.17-0.22 with batch
statistics and 0.00-0.06 in evaluation mode, predicting almost no gap. Recomputing the
averages over a few training batches with the weights frozen ("precise BN", Wu & Johnson
2021) removes the lag; the weights themselves are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

BATCHNORM_TYPES = (nn.modules.batchnorm._BatchNorm,)


def batchnorm_layers(module: nn.Module) -> list[nn.Module]:
    """Every BatchNorm layer of ``module`` that tracks running statistics."""
    return [
        layer
        for layer in module.modules()
        if isinstance(layer, BATCHNORM_TYPES) and layer.track_running_stats
    ]


@torch.no_grad()
def recalibrate_batchnorm(
    module: nn.Module,
    batches: Iterable[Any],
    forward: Callable[[Any], Any],
    max_batches: int,
) -> int:
    """Replace BatchNorm running statistics by their plain mean over ``batches``.

    Only the BatchNorm layers run in training mode (dropout and drop path stay off), with
    ``momentum=None`` so each batch counts equally; their momenta and the module's mode
    are restored afterwards. Nothing changes when the module has no BatchNorm layer or
    ``batches`` yields nothing.

    Args:
        module: the model (its BatchNorm buffers are rewritten).
        batches: training batches, in whatever form ``forward`` takes.
        forward: runs the model on one batch (normalisation included).
        max_batches: at most this many batches are read.

    Returns:
        The number of batches the statistics were computed over.
    """
    layers = batchnorm_layers(module)
    if not layers or max_batches <= 0:
        return 0
    was_training = module.training
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        module.eval()
        for batch in batches:
            if count == 0:
                for layer in layers:
                    layer.reset_running_stats()
                    layer.momentum = None
                    layer.train()
            forward(batch)
            count += 1
            if count >= max_batches:
                break
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        module.train(was_training)
    return count

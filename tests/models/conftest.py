"""Fixtures for the model zoo tests: tiny, deterministic variants of every architecture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import nn

from forestgaps_engine.models import create, get_spec

# Applied only where the architecture has the field: small and deterministic (no dropout,
# no stochastic depth), so every test stays fast on two shared CPU cores.
TINY_OVERRIDES: dict[str, Any] = {
    "base_channels": 8,
    "depth": 3,
    "embedding_dim": 16,
    "dropout": 0.0,
    "drop_path": 0.0,
    "aspp_channels": 16,
    "low_level_channels": 8,
    "blocks_per_stage": (1, 1, 1, 1),
}


def tiny_params(name: str, **extra: Any) -> dict[str, Any]:
    """Small parameters for ``name``, restricted to the fields its schema declares."""
    fields = get_spec(name).config.model_fields
    params = {key: value for key, value in TINY_OVERRIDES.items() if key in fields}
    params.update(extra)
    return params


@pytest.fixture
def build_tiny() -> Callable[..., nn.Module]:
    """``build_tiny(name, seed=0, **extra)`` -> a tiny model built after seeding torch."""

    def build(name: str, seed: int = 0, **extra: Any) -> nn.Module:
        torch.manual_seed(seed)
        return create(name, **tiny_params(name, **extra))

    return build


@pytest.fixture(autouse=True)
def single_torch_thread() -> Iterator[None]:
    """One intra-op thread: tiny tensors gain nothing from more, and on a shared machine
    thread oversubscription made these tests up to 20x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

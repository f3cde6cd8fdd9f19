"""Small in-memory tiles for the data preparation tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from forestgaps_engine.data.shards import TileSample

THRESHOLDS_M = (2.0, 5.0, 7.5)


def make_sample(index: int, size_px: int = 16, seed: int = 0) -> TileSample:
    """A tile with altitude-like heights, a few invalid cells and one mask per threshold."""
    rng = np.random.default_rng([seed, index])
    chm_m = rng.uniform(0.0, 20.0, (size_px, size_px)).astype(np.float32)
    dsm_m = (300.0 + chm_m).astype(np.float32)
    valid = np.ones((size_px, size_px), dtype=bool)
    valid[0, : index % size_px] = False
    dsm_m[~valid] = np.nan
    masks = {t: ((chm_m <= t) & valid).astype(np.uint8) for t in THRESHOLDS_M}
    metadata = {
        "site": f"site{index % 3}",
        "tile_id": f"tile_{index:05d}",
        "gap_ratio": {f"{t:g}": float(masks[t].mean()) for t in THRESHOLDS_M},
    }
    return TileSample(f"tile_{index:05d}", dsm_m, valid, masks, metadata)


@pytest.fixture
def sample_factory() -> Callable[..., TileSample]:
    """``make_sample(index, size_px=16, seed=0)``."""
    return make_sample

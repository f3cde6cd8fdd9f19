"""Training items: the dict a dataset yields for one tile, and its threshold draw.

Items are raw values; normalization is NOT applied here. It is the ``Normalizer`` module,
run on the device as the model's first step, so exports carry it and data loading stays
pure I/O::

    {"dsm": (1, H, W) float32 metres, 0 at invalid cells,
     "valid": (1, H, W) float32 0/1,
     "threshold_m": () float32,
     "mask": (1, H, W) float32 0/1 gap mask at threshold_m (0 at invalid cells),
     "tile_id": str,
     "cell_size_m": () float32 metres, when the tile's metadata records it,
     "terrain_prior": (1, H, W) float32 metres, only when the tile has one}

The threshold of an item is drawn per (seed, epoch, tile id), so it does not depend on how
samples are spread over workers and ranks: uniformly among ``thresholds_m``, or with
``balance="gap_ratio"`` weighted toward thresholds at which the tile has gaps.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from forestgaps_engine.data.shards import TileSample
from forestgaps_engine.errors import DataError

BALANCES = ("uniform", "gap_ratio")
# Weight kept by every threshold under gap_ratio balancing, so gap-free thresholds are still seen.
GAP_RATIO_FLOOR = 0.05


def draw_threshold(
    tile_id: str,
    metadata: dict[str, Any],
    thresholds_m: Sequence[float],
    seed: int,
    epoch: int,
    balance: str,
) -> float:
    """The threshold (metres) an item uses this epoch; deterministic per (seed, epoch, tile)."""
    # random.Random with an int seed is cheap to build and the same in every process.
    rng = random.Random(((seed * 1_000_003 + epoch) << 32) + zlib.crc32(tile_id.encode("utf-8")))
    if balance == "gap_ratio":
        ratios = metadata.get("gap_ratio", {})
        weights = [GAP_RATIO_FLOOR + float(ratios.get(f"{t:g}", 0.0)) for t in thresholds_m]
        return float(rng.choices(thresholds_m, weights=weights)[0])
    return float(thresholds_m[rng.randrange(len(thresholds_m))])


def to_item(sample: TileSample, threshold_m: float) -> dict[str, Any]:
    """The training item of ``sample`` at ``threshold_m`` (see the module docstring)."""
    if threshold_m not in sample.masks:
        raise DataError(
            f"tile {sample.key!r} has no mask at {threshold_m:g} m (it has {sorted(sample.masks)})",
            hint="Use thresholds the dataset was prepared with (manifest.json 'thresholds_m').",
        )
    valid = sample.valid & np.isfinite(sample.dsm_m)
    dsm = np.where(valid, sample.dsm_m, 0.0).astype(np.float32)
    mask = (sample.masks[threshold_m] > 0) & valid
    item = {
        "dsm": torch.from_numpy(dsm[None]),
        "valid": torch.from_numpy(valid[None].astype(np.float32)),
        "threshold_m": torch.tensor(threshold_m, dtype=torch.float32),
        "mask": torch.from_numpy(mask[None].astype(np.float32)),
        "tile_id": sample.key,
    }
    resolution_m = sample.metadata.get("resolution_m")
    if resolution_m:
        # Models sized in metres (ground window) read each tile's own cell size.
        # float64: a float32 cell size can round a window of n.5 cells the other way.
        item["cell_size_m"] = torch.tensor(float(resolution_m[0]), dtype=torch.float64)
    if sample.terrain_prior_m is not None:
        prior = np.asarray(sample.terrain_prior_m, dtype=np.float32)
        item["terrain_prior"] = torch.from_numpy(prior[None].copy())
    return item


def check_balance(balance: str) -> None:
    """Raise DataError unless ``balance`` is one of ``BALANCES``."""
    if balance not in BALANCES:
        raise DataError(
            f"balance {balance!r} is unknown", hint=f"Use one of {', '.join(BALANCES)}."
        )

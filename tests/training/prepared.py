"""A tiny prepared dataset written with the data package's own shard writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from forestgaps_engine.data.records import content_sha256, shard_entries
from forestgaps_engine.data.shards import ShardWriter, TileSample

THRESHOLDS_M = (2.0, 5.0)


def _sample(key: str, rng: np.random.Generator, size_px: int) -> TileSample:
    ground_m = 300.0 + rng.uniform(0, 50)
    chm_m = rng.uniform(0, 20, (size_px // 4, size_px // 4)).repeat(4, 0).repeat(4, 1)
    dsm_m = (ground_m + chm_m).astype(np.float32)
    valid = np.ones((size_px, size_px), bool)
    valid[:3, :5] = False
    dsm_m[~valid] = np.nan
    masks = {t: ((chm_m <= t) & valid).astype(np.uint8) for t in THRESHOLDS_M}
    return TileSample(key, dsm_m, valid, masks, {"site": "synthetic"})


def write_prepared(root: Path, n_train: int = 16, n_val: int = 8, size_px: int = 32) -> Path:
    """Shards, manifest.json and normalization.json as 'forestgaps prepare' lays them out."""
    rng = np.random.default_rng(0)
    shards = []
    for split, count in (("train", n_train), ("val", n_val)):
        with ShardWriter(root, split, samples_per_shard=8) as writer:
            for index in range(count):
                writer.write(_sample(f"{split}_{index:03d}", rng, size_px))
        shards.extend(writer.shards)
    manifest = {
        "format": "forestgaps-prepared/1",
        "thresholds_m": list(THRESHOLDS_M),
        "tile_size_px": size_px,
        "resolution_m": 1.0,
        "content_sha256": content_sha256(shards, root),
        "splits": {
            split: {"shards": shard_entries([s for s in shards if s.split == split], root)}
            for split in ("train", "val")
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    normalization = {"strategy": "robust_percentile", "normalizer_stats": {"relief_range_m": 20.0}}
    (root / "normalization.json").write_text(json.dumps(normalization))
    return root

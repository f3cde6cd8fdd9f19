"""Training data for the terrain prior: the degraded DTM, shards, items, trainer, augmenter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from forestgaps_engine.config.data import TerrainPriorConfig
from forestgaps_engine.config.loader import load_config
from forestgaps_engine.config.training import AugmentationConfig, TrainingConfig
from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.data.records import split_shards
from forestgaps_engine.data.terrain_prior import degrade_ground, prior_rng
from forestgaps_engine.errors import TrainingError
from forestgaps_engine.models import create
from forestgaps_engine.models.normalization import Normalizer
from forestgaps_engine.training.augmentation import DsmAugmenter
from forestgaps_engine.training.trainer import Trainer

SMALL_MODEL = {"base_channels": 4, "depth": 2, "embedding_dim": 8, "ground_window_px": 11,
               "ground_smoothing_px": 3}  # fmt: skip


def _steep_ground(size_px: int = 128) -> np.ndarray:
    rows, cols = np.mgrid[0:size_px, 0:size_px].astype(np.float32)
    return 300.0 + 0.4 * cols + 20.0 * np.sin(cols / 15.0) * np.cos(rows / 19.0)


def test_degraded_ground_is_coarse_biased_and_repeatable() -> None:
    ground_m = _steep_ground()
    valid = np.ones(ground_m.shape, dtype=bool)
    valid[:10, :10] = False  # holes take their nearest ground
    config = TerrainPriorConfig(enabled=True)
    prior_m, drawn = degrade_ground(ground_m, valid, 1.0, config, prior_rng(0, "tile_a"))
    again_m, _ = degrade_ground(ground_m, valid, 1.0, config, prior_rng(0, "tile_a"))
    other_m, other = degrade_ground(ground_m, valid, 1.0, config, prior_rng(0, "tile_b"))
    assert np.array_equal(prior_m, again_m)
    assert not np.array_equal(prior_m, other_m)
    assert prior_m.dtype == np.float32 and np.isfinite(prior_m).all()
    for facts in (drawn, other):
        assert 10.0 <= facts["cell_m"] <= 30.0
    error_m = prior_m - ground_m
    # A few metres off (bias, block averaging of 20-40 m ridges), never the terrain itself.
    assert 0.1 < float(np.abs(error_m).mean()) < 8.0
    assert float(np.ptp(prior_m)) > 0.5 * float(np.ptp(ground_m))
    # Coarse: far smoother than the 1 m ground from cell to cell of a bilinear surface.
    assert np.abs(np.diff(prior_m, 2, axis=1)).mean() < np.abs(np.diff(ground_m, 2, axis=1)).mean()


def test_degradation_is_configurable() -> None:
    ground_m = _steep_ground(96)
    valid = np.ones(ground_m.shape, dtype=bool)
    exact = TerrainPriorConfig(
        enabled=True, cell_m=(1.0, 1.0), offset_std_m=0.0, smooth_bias_std_m=0.0, noise_std_m=0.0
    )
    prior_m, drawn = degrade_ground(ground_m, valid, 1.0, exact, prior_rng(1, "t"))
    # 1 m cells without bias or noise: the ground itself (up to the half-cell phase).
    assert drawn["cell_m"] == 1.0 and drawn["offset_m"] == 0.0
    assert float(np.abs(prior_m - ground_m)[2:-2, 2:-2].max()) < 1.0
    with pytest.raises(ValueError, match="cell_m"):
        TerrainPriorConfig(cell_m=(30.0, 10.0))


def _prepared(tmp_path: Path, enabled: bool) -> Path:
    config = load_config(
        None,
        [
            "synth.size_px=128",
            "synth.n_sites=2",
            "data.synthetic_sites=2",
            "data.tile_size_px=64",
            "data.samples_per_shard=8",
            "data.split.train=0.5",
            "data.split.val=0.5",
            "data.split.test=0.0",
            "training.batch_size=2",
            "gaps.thresholds_m=[2.0,5.0]",
            f"data.terrain_prior.enabled={str(enabled).lower()}",
            f"data.output_dir={tmp_path / ('with' if enabled else 'without')}",
        ],
    )
    return prepare(config).output_dir


def _items(prepared: Path) -> list[dict]:
    paths, counts = split_shards(prepared, "train")
    return list(ShardDataset(paths, [2.0, 5.0], shard_counts=counts))


def test_prepare_writes_the_prior_only_when_enabled(tmp_path: Path) -> None:
    with_prior = _items(_prepared(tmp_path, True))
    without = _items(_prepared(tmp_path, False))
    assert with_prior and without
    assert all("terrain_prior" not in item for item in without)
    for item in with_prior:
        prior = item["terrain_prior"]
        assert prior.shape == item["dsm"].shape and torch.isfinite(prior).all()
        valid = item["valid"] > 0.5
        # Below the surface, within a few metres of the ground under the canopy.
        assert float((item["dsm"] - prior)[valid].median()) > 0.0


def _batch(with_prior: bool) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ground = torch.linspace(300.0, 330.0, 32).expand(2, 1, 32, 32).clone()
    dsm = ground + 15.0 * torch.rand(2, 1, 32, 32, generator=generator)
    batch = {
        "dsm": dsm,
        "valid": torch.ones(2, 1, 32, 32),
        "mask": (dsm - ground < 3.0).float(),
        "threshold_m": torch.tensor([3.0, 3.0]),
    }
    if with_prior:
        batch["terrain_prior"] = ground + 1.0
    return batch


def test_trainer_feeds_the_prior_and_refuses_tiles_without_it() -> None:
    torch.manual_seed(0)
    model = create("unet_film_relief", terrain_prior=True, **SMALL_MODEL)
    config = TrainingConfig(amp="off", batch_size=2, num_workers=0)
    trainer = Trainer(model, Normalizer("robust_percentile", {"relief_range_m": 30.0}), config,
                      device=torch.device("cpu"))  # fmt: skip
    batch = trainer.to_device(_batch(with_prior=True))
    logits = trainer.forward(batch)
    assert logits.shape == (2, 1, 32, 32)
    shifted = dict(batch, terrain_prior=batch["terrain_prior"] + 10.0)
    assert not torch.allclose(trainer.forward(shifted), logits)
    with pytest.raises(TrainingError, match="data.terrain_prior.enabled"):
        trainer.to_device(_batch(with_prior=False))


def test_augmenter_moves_the_prior_with_the_dsm() -> None:
    """Flips, turns, offsets and tilts apply to both: dsm - prior is only flipped/turned."""
    torch.manual_seed(0)
    config = AugmentationConfig(affine_probability=0.0, noise_std_m=0.0, vertical_offset_m=30.0,
                                tilt_max_slope=0.3)  # fmt: skip
    batch = _batch(with_prior=True)
    out = DsmAugmenter(config)(batch)
    above = out["dsm"] - out["terrain_prior"]
    before = batch["dsm"] - batch["terrain_prior"]
    for index in range(2):
        candidates = [
            torch.rot90(flipped, k, dims=(-2, -1))
            for flipped in (before[index], before[index].flip(-1), before[index].flip(-2))
            for k in range(4)
        ]
        assert any(torch.allclose(above[index], c, atol=1e-3) for c in candidates)

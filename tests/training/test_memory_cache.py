"""The in-memory tile cache yields exactly what the disk-reading dataset yields."""

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.records import split_shards
from forestgaps_engine.training.memory_cache import CachedShardDataset, should_cache
from tests.training.prepared import THRESHOLDS_M, write_prepared


def _items(dataset, epoch: int, num_workers: int = 0) -> list[dict]:
    dataset.set_epoch(epoch)
    return list(DataLoader(dataset, batch_size=None, num_workers=num_workers))


def _assert_same(left: list[dict], right: list[dict]) -> None:
    assert [item["tile_id"] for item in left] == [item["tile_id"] for item in right]
    for a, b in zip(left, right, strict=True):
        for key in ("dsm", "valid", "threshold_m", "mask"):
            assert torch.equal(a[key], b[key]), key


@pytest.fixture
def shards(tmp_path: Path) -> tuple[list[Path], list[int]]:
    prepared = write_prepared(tmp_path / "prepared", n_train=24, n_val=0)
    return split_shards(prepared, "train")


@pytest.mark.parametrize("rank", [0, 1])
def test_same_samples_as_the_disk_dataset_per_epoch_and_rank(shards, rank):
    paths, counts = shards
    kwargs = dict(shuffle_buffer_size=5, seed=3, shard_counts=counts, rank=rank, world_size=2)
    disk = ShardDataset(paths, THRESHOLDS_M, **kwargs)
    memory = CachedShardDataset(paths, THRESHOLDS_M, **kwargs)
    assert memory.cached_bytes > 0
    for epoch in (0, 1):
        reference = _items(disk, epoch)
        assert len(reference) == 12
        _assert_same(_items(memory, epoch), reference)


def test_same_samples_with_workers_and_after_a_resume(shards):
    paths, counts = shards
    disk = ShardDataset(paths, THRESHOLDS_M, shard_counts=counts, batch_size=4)
    memory = CachedShardDataset(paths, THRESHOLDS_M, shard_counts=counts, batch_size=4)
    _assert_same(_items(memory, 0, num_workers=2), _items(disk, 0, num_workers=2))
    for dataset in (disk, memory):
        dataset.load_state_dict({"epoch": 0, "samples_consumed": 8})
    _assert_same(list(memory), list(disk))


def test_auto_caches_only_below_a_quarter_of_available_ram(shards):
    paths, _ = shards
    total_bytes = sum(p.stat().st_size for p in paths)
    assert should_cache("auto", paths, available_bytes=5 * total_bytes)
    assert not should_cache("auto", paths, available_bytes=3 * total_bytes)
    assert should_cache(True, paths, available_bytes=0)
    assert not should_cache(False, paths, available_bytes=10**15)

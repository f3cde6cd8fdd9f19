import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.data.datasets import ShardDataset, TileDataset, export_loose_tiles
from forestgaps_engine.data.shards import ShardWriter

THRESHOLDS_M = (2.0, 5.0, 7.5)


@pytest.fixture
def shard_paths(tmp_path, sample_factory):
    with ShardWriter(tmp_path / "prepared", "train", samples_per_shard=5) as writer:
        for i in range(24):
            writer.write(sample_factory(i))
    return [s.path for s in writer.shards]


def _ids(items):
    return [item["tile_id"] for item in items]


@pytest.mark.parametrize("shuffle", [0, 4])
def test_two_ranks_two_workers_disjoint_and_complete(shard_paths, shuffle):
    dataset = ShardDataset(shard_paths, THRESHOLDS_M, shuffle_buffer_size=shuffle, seed=1)
    seen = {}
    for rank in range(2):
        per_rank = []
        for worker in range(2):
            per_rank += _ids(dataset.iter_partition(rank, 2, worker, 2))
        seen[rank] = per_rank
    assert len(seen[0]) == len(seen[1]) == 12
    assert not set(seen[0]) & set(seen[1])
    assert set(seen[0]) | set(seen[1]) == {f"tile_{i:05d}" for i in range(24)}


def test_uneven_total_gives_equal_counts_per_rank(shard_paths):
    dataset = ShardDataset(shard_paths, THRESHOLDS_M)
    counts = [len(list(dataset.iter_partition(rank, 5, 0, 1))) for rank in range(5)]
    assert counts == [4] * 5
    assert len(ShardDataset(shard_paths, THRESHOLDS_M, rank=0, world_size=5)) == 4


def test_shuffle_is_deterministic_per_seed_and_epoch(shard_paths):
    def order(seed, epoch):
        dataset = ShardDataset(shard_paths, THRESHOLDS_M, shuffle_buffer_size=6, seed=seed)
        dataset.set_epoch(epoch)
        return _ids(dataset)

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1)
    assert order(0, 0) != order(1, 0)
    assert sorted(order(0, 3)) == sorted(order(1, 2))
    unshuffled = _ids(ShardDataset(shard_paths, THRESHOLDS_M))
    assert unshuffled == [f"tile_{i:05d}" for i in range(24)]


def test_items_are_raw_metres_with_valid_and_mask(shard_paths):
    item = next(iter(ShardDataset(shard_paths, THRESHOLDS_M)))
    assert item["dsm"].shape == item["valid"].shape == item["mask"].shape == (1, 16, 16)
    assert item["dsm"].dtype == torch.float32 and item["threshold_m"].shape == ()
    valid = item["valid"].bool()
    assert float(item["dsm"][valid].min()) >= 300.0
    assert torch.all(item["dsm"][~valid] == 0) and torch.all(item["mask"][~valid] == 0)
    assert float(item["threshold_m"]) in THRESHOLDS_M


def test_gap_ratio_balance_prefers_thresholds_with_gaps(tmp_path, sample_factory):
    with ShardWriter(tmp_path, "train", 100) as writer:
        for i in range(60):
            sample = sample_factory(i)
            sample.metadata["gap_ratio"] = {"2": 0.0, "5": 0.0, "7.5": 0.8}
            writer.write(sample)
    dataset = ShardDataset([writer.shards[0].path], THRESHOLDS_M, balance="gap_ratio")
    drawn = [float(item["threshold_m"]) for item in dataset]
    assert drawn.count(7.5) > 45
    uniform = [float(i["threshold_m"]) for i in ShardDataset([writer.shards[0].path], THRESHOLDS_M)]
    assert uniform.count(7.5) < 35


def test_dataloader_with_workers_reads_everything_once(shard_paths):
    dataset = ShardDataset(shard_paths, THRESHOLDS_M, shuffle_buffer_size=3)
    loader = DataLoader(dataset, batch_size=4, num_workers=2)
    ids = [tile for batch in loader for tile in batch["tile_id"]]
    assert sorted(ids) == [f"tile_{i:05d}" for i in range(24)]


def test_resume_skips_consumed_samples(shard_paths):
    dataset = ShardDataset(shard_paths, THRESHOLDS_M, shuffle_buffer_size=5, seed=2)
    dataset.set_epoch(3)
    full = _ids(dataset)
    dataset.record_consumed(8)
    state = dataset.state_dict()
    assert state == {"epoch": 3, "samples_consumed": 8}
    resumed = ShardDataset(shard_paths, THRESHOLDS_M, shuffle_buffer_size=5, seed=2)
    resumed.load_state_dict(state)
    resumed.set_epoch(3)
    assert _ids(resumed) == full[8:]
    resumed.set_epoch(4)
    assert len(_ids(resumed)) == 24


def test_resume_with_workers_round_robin(shard_paths):
    def loader_ids(dataset):
        loader = DataLoader(dataset, batch_size=4, num_workers=2)
        return [tile for batch in loader for tile in batch["tile_id"]]

    full = loader_ids(ShardDataset(shard_paths, THRESHOLDS_M, batch_size=4))
    resumed = ShardDataset(shard_paths, THRESHOLDS_M, batch_size=4)
    resumed.load_state_dict({"epoch": 0, "samples_consumed": 12})
    # Exactly the unconsumed samples; the DataLoader restarts its round-robin at worker 0.
    assert sorted(loader_ids(resumed)) == sorted(full[12:])


def test_tile_dataset_matches_shards(tmp_path, shard_paths):
    n_tiles = export_loose_tiles(shard_paths, tmp_path / "loose")
    assert n_tiles == 24
    loose = TileDataset(tmp_path / "loose", THRESHOLDS_M, seed=0)
    streamed = list(ShardDataset(shard_paths, THRESHOLDS_M, seed=0))
    assert len(loose) == 24
    for index in (0, 7, 23):
        a, b = loose[index], streamed[index]
        assert a["tile_id"] == b["tile_id"]
        assert torch.equal(a["dsm"], b["dsm"]) and torch.equal(a["mask"], b["mask"])
        assert float(a["threshold_m"]) == float(b["threshold_m"])
    assert np.isfinite(loose[3]["dsm"].numpy()).all()

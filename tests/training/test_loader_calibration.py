"""Loader calibration: fastest setting wins, the choice is cached, the worker cap holds."""

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.records import split_shards
from forestgaps_engine.training.loader_calibration import (
    CACHE_FILE,
    LoaderSetting,
    calibrate_loader,
    candidate_settings,
    default_cache_dir,
    measure_throughput,
)
from tests.training.prepared import THRESHOLDS_M, write_prepared


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


class FakeLoader:
    """Four batches of 8 per epoch; each batch costs ``batch_s`` on the fake clock."""

    def __init__(self, clock: FakeClock, batch_s: float) -> None:
        self.clock = clock
        self.batch_s = batch_s

    def __iter__(self):
        for _ in range(4):
            self.clock.now_s += self.batch_s
            yield {"dsm": torch.zeros(8, 1, 2, 2)}


def _factory(clock: FakeClock, seconds_per_batch, built: list[LoaderSetting]):
    def make_loader(setting: LoaderSetting) -> FakeLoader:
        built.append(setting)
        return FakeLoader(clock, seconds_per_batch(setting))

    return make_loader


def test_candidates_respect_the_cap_and_pin_only_when_useful():
    assert candidate_settings(0, can_pin=True) == [LoaderSetting(0, None, False)] + [
        LoaderSetting(0, None, True)
    ]
    settings = candidate_settings(3, can_pin=False)
    assert {s.num_workers for s in settings} == {0, 1, 2, 3}
    assert not any(s.pin_memory for s in settings)
    assert all(s.prefetch_factor in (2, 4) for s in settings if s.num_workers)


def test_measure_throughput_counts_samples_over_the_trial():
    clock = FakeClock()
    rate = measure_throughput(FakeLoader(clock, 0.5), trial_s=3.0, clock=clock)
    assert rate == pytest.approx(8 / 0.5)  # restarts epochs until 3 s passed


def test_fastest_setting_is_chosen_then_served_from_the_cache(tmp_path: Path):
    clock, built = FakeClock(), []
    speed = {0: 1.0, 1: 0.5, 2: 0.2}  # seconds per batch by worker count

    def cost(setting: LoaderSetting) -> float:
        return speed[setting.num_workers] * (0.9 if setting.prefetch_factor == 4 else 1.0)

    make_loader = _factory(clock, cost, built)
    first = calibrate_loader(
        make_loader, 64, 8, max_workers=2, trial_s=1.0, cache_dir=tmp_path, clock=clock
    )
    assert first.setting == LoaderSetting(2, 4, False)
    assert not first.from_cache
    assert len(first.measurements) == len(built) == 5
    entries = json.loads((tmp_path / CACHE_FILE).read_text())
    (entry,) = entries.values()
    assert entry["setting"]["num_workers"] == 2
    assert "tile=64px" in next(iter(entries))

    built.clear()
    second = calibrate_loader(
        make_loader, 64, 8, max_workers=2, trial_s=1.0, cache_dir=tmp_path, clock=clock
    )
    assert second.from_cache and second.setting == first.setting
    assert built == []  # nothing measured again
    # another tile size is another dataset shape: measured again
    third = calibrate_loader(
        make_loader, 128, 8, max_workers=2, trial_s=1.0, cache_dir=tmp_path, clock=clock
    )
    assert not third.from_cache and built
    assert len(json.loads((tmp_path / CACHE_FILE).read_text())) == 2


def test_worker_cap_is_respected_and_zero_cap_measures_nothing(tmp_path: Path):
    clock, built = FakeClock(), []
    make_loader = _factory(clock, lambda s: 1.0 / (1 + s.num_workers), built)
    capped = calibrate_loader(
        make_loader, 64, 8, max_workers=1, trial_s=1.0, cache_dir=tmp_path, clock=clock
    )
    assert max(s.num_workers for s in built) == 1
    assert capped.setting.num_workers == 1
    built.clear()
    qgis = calibrate_loader(
        make_loader, 64, 8, max_workers=0, trial_s=1.0, cache_dir=tmp_path / "q", clock=clock
    )
    assert qgis.setting == LoaderSetting(0, None, False) and built == []


def test_equal_speed_keeps_the_cheaper_setting(tmp_path: Path):
    clock = FakeClock()
    make_loader = _factory(clock, lambda s: 0.5, [])
    result = calibrate_loader(
        make_loader, 64, 8, max_workers=4, trial_s=1.0, cache_dir=tmp_path, clock=clock
    )
    assert result.setting == LoaderSetting(0, None, False)


def test_cache_dir_follows_the_environment_variable(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("FORESTGAPS_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"


def test_calibration_on_a_real_shard_dataset(tmp_path: Path):
    prepared = write_prepared(tmp_path / "prepared", n_train=16, n_val=0)
    paths, counts = split_shards(prepared, "train")
    dataset = ShardDataset(paths, THRESHOLDS_M, shard_counts=counts, batch_size=4)

    def make_loader(setting: LoaderSetting) -> DataLoader:
        return DataLoader(dataset, batch_size=4, **setting.loader_kwargs())

    result = calibrate_loader(
        make_loader, 32, 4, max_workers=1, trial_s=0.3, cache_dir=tmp_path / "cache"
    )
    assert {s.num_workers for s, _ in result.measurements} == {0, 1}
    assert all(rate > 0 for _, rate in result.measurements)
    assert (result.setting, result.samples_per_s) in result.measurements
    assert (tmp_path / "cache" / CACHE_FILE).is_file()

"""Torch datasets over prepared tiles: tar shards (streaming) and loose ``.npy`` tiles.

Both yield the items of ``items.py`` (raw metres; normalization happens on the device).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from forestgaps_engine.data.items import check_balance, draw_threshold, to_item
from forestgaps_engine.data.shard_reader import count_samples, decode_sample, iter_shard_members
from forestgaps_engine.data.shards import TERRAIN_PRIOR_FIELD, mask_field
from forestgaps_engine.errors import DataError

logger = logging.getLogger(__name__)


class ShardDataset(IterableDataset):
    """Streams samples from tar shards, reading each shard front to back.

    Every epoch the shard order is permuted (seed, epoch); the concatenated samples are cut
    into one contiguous range per DDP rank (``N // world_size`` samples each, the remainder
    of the epoch dropped, so all ranks run the same number of steps), and each rank's range
    into contiguous ranges per DataLoader worker. A shuffle buffer (seeded per epoch, rank
    and worker) mixes samples within a worker's stream.

    Resuming: ``state_dict()`` gives {"epoch", "samples_consumed"}; the trainer reports
    consumed samples with ``record_consumed(n)``. After ``load_state_dict`` the next
    iteration of that epoch skips what was consumed: exact with 0 or 1 worker; with W
    workers the skip per worker assumes the DataLoader's round-robin of whole batches of
    ``batch_size`` (its default in-order behaviour), and the rest of the epoch holds exactly
    the unconsumed samples, in an order that may differ (the round-robin restarts at worker 0).

    Args:
        shard_paths: the shards (one split).
        thresholds_m: thresholds to draw from (each must have a mask in the shards).
        shuffle_buffer_size: 0 = no shuffling (shard order kept too).
        seed: base seed of every random draw.
        balance: "uniform" or "gap_ratio".
        shard_counts: samples per shard (from manifest.json); counted from the tars if None.
        batch_size: per-rank batch size, for resuming with several workers.
        rank: overrides the torch.distributed rank (tests, custom launchers).
        world_size: overrides the torch.distributed world size.
    """

    def __init__(
        self,
        shard_paths: Sequence[str | Path],
        thresholds_m: Sequence[float],
        shuffle_buffer_size: int = 0,
        seed: int = 0,
        balance: str = "uniform",
        shard_counts: Sequence[int] | None = None,
        batch_size: int = 1,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        check_balance(balance)
        self.shard_paths = [Path(p) for p in shard_paths]
        if not self.shard_paths:
            raise DataError("no shard to read", hint="Run 'forestgaps prepare' first.")
        missing = [str(p) for p in self.shard_paths if not p.is_file()]
        if missing:
            raise DataError(
                f"shard(s) not found: {', '.join(missing)}", hint="Run 'forestgaps prepare' again."
            )
        counts = (
            list(shard_counts)
            if shard_counts is not None
            else [count_samples(p) for p in self.shard_paths]
        )
        if len(counts) != len(self.shard_paths):
            raise ValueError(f"{len(counts)} shard counts for {len(self.shard_paths)} shards")
        self.shard_counts = counts
        self.thresholds_m = [float(t) for t in thresholds_m]
        self.shuffle_buffer_size = shuffle_buffer_size
        self.seed = seed
        self.balance = balance
        self.batch_size = batch_size
        self._rank = rank
        self._world_size = world_size
        self.epoch = 0
        self.samples_consumed = 0
        self._skip = 0

    def _context(self) -> tuple[int, int]:
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        return (self._rank if self._rank is not None else rank, self._world_size or world)

    def __len__(self) -> int:
        """Samples this rank yields per epoch."""
        return sum(self.shard_counts) // self._context()[1]

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (shard order, shuffle and thresholds); a new epoch starts unconsumed."""
        if epoch != self.epoch:
            self.samples_consumed = 0
            self._skip = 0
        self.epoch = epoch

    def record_consumed(self, n_samples: int) -> None:
        """The trainer took ``n_samples`` more samples of this epoch on this rank."""
        self.samples_consumed += n_samples

    def state_dict(self) -> dict[str, int]:
        """Position in the data stream: {"epoch", "samples_consumed"}."""
        return {"epoch": self.epoch, "samples_consumed": self.samples_consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume at a position from ``state_dict()``; the next iteration skips the consumed part."""
        self.epoch = int(state["epoch"])
        self.samples_consumed = int(state["samples_consumed"])
        self._skip = self.samples_consumed

    def _shard_order(self) -> list[int]:
        order = list(range(len(self.shard_paths)))
        if self.shuffle_buffer_size > 0:
            np.random.default_rng([self.seed, self.epoch]).shuffle(order)
        return order

    def _worker_skip(self, worker: int, num_workers: int, n_worker: int) -> int:
        if self._skip == 0:
            return 0
        if num_workers <= 1:
            return min(self._skip, n_worker)
        batches_done = self._skip // self.batch_size
        worker_batches = (
            (batches_done - worker + num_workers - 1) // num_workers if batches_done > worker else 0
        )
        return min(worker_batches * self.batch_size, n_worker)

    def iter_partition(
        self, rank: int, world_size: int, worker: int, num_workers: int
    ) -> Iterator[dict[str, Any]]:
        """Items of one (rank, worker) slot this epoch; ``__iter__`` calls it with the real slot."""
        # [start, end) in this epoch's sample order: the rank's range cut into worker ranges.
        per_rank = sum(self.shard_counts) // world_size
        base, extra = divmod(per_rank, num_workers)
        start = rank * per_rank + worker * base + min(worker, extra)
        end = start + base + (1 if worker < extra else 0)
        skip = self._worker_skip(worker, num_workers, end - start)
        raw = self._read_range(start, end)
        if self.shuffle_buffer_size > 0:
            raw = self._shuffled(raw, np.random.default_rng([self.seed, self.epoch, rank, worker]))
        for position, (key, fields, source) in enumerate(raw):
            if position < skip:
                continue  # consumed before the resume: read but never decoded
            sample = decode_sample(key, fields, source)
            threshold_m = draw_threshold(
                key, sample.metadata, self.thresholds_m, self.seed, self.epoch, self.balance
            )
            yield to_item(sample, threshold_m)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rank, world_size = self._context()
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        dropped = sum(self.shard_counts) % world_size
        if dropped and worker == 0:
            logger.debug(
                "epoch %d: %d sample(s) left out so every rank gets as many", self.epoch, dropped
            )
        return self.iter_partition(rank, world_size, worker, num_workers)

    def _read_range(self, start: int, end: int) -> Iterator[tuple[str, dict[str, bytes], str]]:
        position = 0
        for index in self._shard_order():
            count = self.shard_counts[index]
            if position + count <= start:
                position += count
                continue
            if position >= end:
                return
            source = str(self.shard_paths[index])
            for key, fields in self._members_of(index):
                if position >= end:
                    return
                if position >= start:
                    yield key, fields, source
                position += 1

    def _members_of(self, index: int) -> Iterable[tuple[str, dict[str, bytes]]]:
        """(key, fields) of each sample of shard ``index``, in file order."""
        return iter_shard_members(self.shard_paths[index])

    def _shuffled(self, items: Iterator[Any], rng: np.random.Generator) -> Iterator[Any]:
        buffer: list[Any] = []
        for item in items:
            buffer.append(item)
            if len(buffer) >= self.shuffle_buffer_size:
                index = int(rng.integers(len(buffer)))
                buffer[index], buffer[-1] = buffer[-1], buffer[index]
                yield buffer.pop()
        while buffer:
            index = int(rng.integers(len(buffer)))
            buffer[index], buffer[-1] = buffer[-1], buffer[index]
            yield buffer.pop()


class TileDataset(Dataset):
    """Map-style dataset over loose tiles (``<key>.dsm.npy``, ``<key>.json``, … in a folder).

    Args:
        folder: where ``export_loose_tiles`` wrote the tiles.
        thresholds_m: thresholds to draw from.
        seed: base seed of the threshold draws.
        balance: "uniform" or "gap_ratio".
    """

    def __init__(
        self,
        folder: str | Path,
        thresholds_m: Sequence[float],
        seed: int = 0,
        balance: str = "uniform",
    ) -> None:
        check_balance(balance)
        self.folder = Path(folder)
        self.keys = sorted(path.name.partition(".")[0] for path in self.folder.glob("*.json"))
        if not self.keys:
            raise DataError(
                f"{self.folder}: no tile (*.json) found",
                hint="Export tiles with export_loose_tiles first.",
            )
        self.thresholds_m = [float(t) for t in thresholds_m]
        self.seed = seed
        self.balance = balance
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of the threshold draws."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key = self.keys[index]
        fields = {"json": (self.folder / f"{key}.json").read_bytes()}
        thresholds_m = json.loads(fields["json"]).get("thresholds_m", [])
        names = ["dsm.npy", "valid.npy", f"{TERRAIN_PRIOR_FIELD}.npy"]
        names += [f"{mask_field(t)}.npy" for t in thresholds_m]
        for name in names:
            path = self.folder / f"{key}.{name}"
            if path.is_file():
                fields[name] = path.read_bytes()
        sample = decode_sample(key, fields, source=str(self.folder / key))
        threshold_m = draw_threshold(
            key, sample.metadata, self.thresholds_m, self.seed, self.epoch, self.balance
        )
        return to_item(sample, threshold_m)


def export_loose_tiles(shard_paths: Sequence[str | Path], out_dir: str | Path) -> int:
    """Write every sample of the shards as loose files ``<key>.<field>`` in ``out_dir``.

    Returns:
        The number of samples written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_samples = 0
    for shard_path in shard_paths:
        for key, fields in iter_shard_members(shard_path):
            for field_name, payload in fields.items():
                (out / f"{key}.{field_name}").write_bytes(payload)
            n_samples += 1
    return n_samples

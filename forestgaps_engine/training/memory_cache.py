"""In-memory tile cache: read the shards once, serve every epoch from RAM.

:class:`CachedShardDataset` is a :class:`ShardDataset` whose tar members come from memory
instead of disk; partitioning over ranks and workers, shuffling, threshold draws and
decoding are the parent's, so it yields exactly the same items. With forked DataLoader
workers the cache is shared copy-on-write; with spawned workers (Windows, macOS) each
worker receives its own copy, so ``auto`` only caches when the shards take less than a
quarter of the available RAM.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.data.datasets import ShardDataset
from forestgaps_engine.data.shard_reader import iter_shard_members
from forestgaps_engine.machine import available_memory_bytes

logger = logging.getLogger(__name__)

AUTO_RAM_FRACTION = 0.25


def should_cache(
    setting: bool | str, shard_paths: Sequence[str | Path], available_bytes: int | None = None
) -> bool:
    """Resolve ``training.cache_in_memory`` (True / False / "auto") for these shards.

    Args:
        setting: the config value.
        shard_paths: every shard that would be cached.
        available_bytes: RAM available (None: :func:`available_memory_bytes`).
    """
    if setting != "auto":
        return bool(setting)
    total_bytes = sum(Path(p).stat().st_size for p in shard_paths)
    available = available_memory_bytes() if available_bytes is None else available_bytes
    return total_bytes < AUTO_RAM_FRACTION * available


class CachedShardDataset(ShardDataset):
    """A :class:`ShardDataset` that reads every shard into memory once, at construction.

    Takes the same arguments as :class:`ShardDataset`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._members: list[list[tuple[str, dict[str, bytes]]]] = [
            list(iter_shard_members(path)) for path in self.shard_paths
        ]
        self.cached_bytes = sum(
            len(payload)
            for members in self._members
            for _, fields in members
            for payload in fields.values()
        )
        logger.info(
            "cached %d shard(s) in memory (%.1f MB)", len(self._members), self.cached_bytes / 1e6
        )

    def _members_of(self, index: int) -> Iterable[tuple[str, dict[str, bytes]]]:
        """The members of shard ``index``, from memory."""
        return self._members[index]

"""Tar shards of training tiles (WebDataset-style names), written atomically, read sequentially.

One sample is a group of consecutive tar members sharing a key (no dot in the key)::

    <key>.dsm.npy        (H, W) float32, metres, NaN at invalid cells
    <key>.valid.npy      (H, W) uint8, 1 = valid cell
    <key>.mask_t5.npy    (H, W) uint8, 1 = gap at 5 m (one per threshold; 7.5 m → mask_t7p5)
    <key>.terrain_prior.npy  (H, W) float32, metres: degraded ground (only with
                         data.terrain_prior.enabled)
    <key>.json           metadata: site, tile window, transform, CRS, resolution, gap ratios…

Arrays are ``.npy`` (``shard_reader.py`` decodes them without ever unpickling), and members
carry fixed owner/time fields, so the same tiles always give byte-identical shards.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from forestgaps_engine.files import atomic_path

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
TERRAIN_PRIOR_FIELD = "terrain_prior"


def mask_field(threshold_m: float) -> str:
    """Field name of the mask at ``threshold_m``: 5 → ``mask_t5``, 7.5 → ``mask_t7p5``."""
    return "mask_t" + f"{threshold_m:g}".replace(".", "p")


def safe_key(text: str) -> str:
    """``text`` with every character outside [A-Za-z0-9_-] replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text) or "_"


@dataclass(frozen=True)
class TileSample:
    """One training tile.

    Attributes:
        key: unique id of the tile (the tar member prefix), [A-Za-z0-9_-]+.
        dsm_m: (H, W) float32 surface heights in metres, NaN where not valid.
        valid: (H, W) bool.
        masks: threshold in metres → (H, W) uint8 gap mask (1 = gap).
        metadata: JSON-serialisable facts about the tile.
        terrain_prior_m: optional (H, W) float32 coarse ground heights, metres, finite.
    """

    key: str
    dsm_m: np.ndarray
    valid: np.ndarray
    masks: dict[float, np.ndarray]
    metadata: dict[str, Any] = field(default_factory=dict)
    terrain_prior_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not _KEY_PATTERN.match(self.key):
            raise ValueError(f"sample key {self.key!r} must match [A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ShardInfo:
    """A finished shard."""

    path: Path
    split: str
    n_samples: int
    sha256: str


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def encode_sample(sample: TileSample) -> list[tuple[str, bytes]]:
    """The (member name, bytes) pairs of one sample, in writing order."""
    metadata = dict(sample.metadata)
    metadata["thresholds_m"] = sorted(sample.masks)
    members = [
        (f"{sample.key}.dsm.npy", _npy_bytes(sample.dsm_m.astype(np.float32, copy=False))),
        (f"{sample.key}.valid.npy", _npy_bytes(sample.valid.astype(np.uint8))),
    ]
    for threshold_m in sorted(sample.masks):
        mask = sample.masks[threshold_m].astype(np.uint8, copy=False)
        members.append((f"{sample.key}.{mask_field(threshold_m)}.npy", _npy_bytes(mask)))
    if sample.terrain_prior_m is not None:
        prior = sample.terrain_prior_m.astype(np.float32, copy=False)
        members.append((f"{sample.key}.{TERRAIN_PRIOR_FIELD}.npy", _npy_bytes(prior)))
    members.append((f"{sample.key}.json", json.dumps(metadata, sort_keys=True).encode("utf-8")))
    return members


def _add_member(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mtime = 0  # reproducible bytes, hence reproducible sha256
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(payload))


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ShardWriter:
    """Writes samples into ``<out_dir>/<split>/<split>-000000.tar``, rotating every N samples.

    Each shard is written to a temporary file and renamed when complete; leaving the
    ``with`` block on an exception removes the shard being written.

    Args:
        out_dir: root of the prepared dataset.
        split: "train", "val" or "test" (also the shard name prefix).
        samples_per_shard: samples per shard (the last one may hold fewer).
    """

    def __init__(self, out_dir: str | Path, split: str, samples_per_shard: int) -> None:
        if samples_per_shard < 1:
            raise ValueError(f"samples_per_shard must be >= 1, got {samples_per_shard}")
        self.directory = Path(out_dir) / split
        self.split = split
        self.samples_per_shard = samples_per_shard
        self.shards: list[ShardInfo] = []
        self._stack: ExitStack | None = None
        self._archive: tarfile.TarFile | None = None
        self._target: Path | None = None
        self._count = 0

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        if self._archive is not None and self._stack is not None:
            self._archive.close()
            self._stack.__exit__(exc_type, exc, traceback)  # deletes the temporary file
        self._archive, self._stack, self._target = None, None, None

    def write(self, sample: TileSample) -> None:
        """Append one sample, starting a new shard when the current one is full."""
        if self._archive is None:
            self._open_next()
        assert self._archive is not None
        for name, payload in encode_sample(sample):
            _add_member(self._archive, name, payload)
        self._count += 1
        if self._count == self.samples_per_shard:
            self._finish()

    def close(self) -> list[ShardInfo]:
        """Finish the current shard; returns every shard written."""
        if self._archive is not None:
            self._finish()
        return list(self.shards)

    def _open_next(self) -> None:
        self._target = self.directory / f"{self.split}-{len(self.shards):06d}.tar"
        self._stack = ExitStack()
        temp_path = self._stack.enter_context(atomic_path(self._target))
        self._archive = tarfile.open(temp_path, "w", format=tarfile.USTAR_FORMAT)
        self._count = 0

    def _finish(self) -> None:
        assert self._archive is not None and self._stack is not None and self._target
        self._archive.close()
        self._stack.close()  # renames the temporary file onto the target
        self.shards.append(
            ShardInfo(self._target, self.split, self._count, file_sha256(self._target))
        )
        self._archive, self._stack, self._target = None, None, None

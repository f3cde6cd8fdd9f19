"""Train/val/test split by SITE, so neighbouring (correlated) tiles never straddle splits.

Rule:
- 3 sites or more: sites are shuffled with the seed and dealt to the splits by the
  configured fractions; every split whose fraction is > 0 gets at least one site (train
  keeps at least one).
- 2 sites: the one chosen by the seed goes to train whole; the other is cut into spatial
  blocks for val and test.
- 1 site: the site is cut into spatial blocks for train, val and test.
Blocks are bands across the site's longer axis, sized by the fractions, and separated by a
buffer one tile wide. A tile belongs to a block only when it lies entirely inside it; tiles
that straddle a block edge or sit in the buffer are dropped. So no tile of one split
overlaps or touches a tile of another split.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass

from forestgaps_engine.geo.tiles import Tile, tile_offsets

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitBlock:
    """A band of a site given to one split.

    Attributes:
        split: "train", "val" or "test".
        axis: 0 = band of rows, 1 = band of columns.
        start_px: first row/column of the band.
        end_px: one past its last row/column.
    """

    split: str
    axis: int
    start_px: int
    end_px: int

    def contains(self, tile: Tile) -> bool:
        """True when ``tile`` lies entirely inside the band."""
        start, end = (
            (tile.row_off, tile.row_end) if self.axis == 0 else (tile.col_off, tile.col_end)
        )
        return self.start_px <= start and end <= self.end_px


@dataclass(frozen=True)
class SplitPlan:
    """Which split every site (or block of a site) belongs to.

    Attributes:
        whole_sites: site name → split, for sites given whole to one split.
        blocks: site name → bands, for sites cut spatially (1-2 sites).
    """

    whole_sites: dict[str, str]
    blocks: dict[str, list[SplitBlock]]

    def split_of(self, site: str, tile: Tile) -> str | None:
        """The split of ``tile`` of ``site``, or None when it falls in a buffer (dropped)."""
        if site in self.whole_sites:
            return self.whole_sites[site]
        for block in self.blocks.get(site, []):
            if block.contains(tile):
                return block.split
        return None

    def rule_of(self, site: str) -> dict[str, object]:
        """How ``site`` was split, for the per-tile record."""
        if site in self.whole_sites:
            return {"rule": "whole site", "split": self.whole_sites[site]}
        return {"rule": "spatial blocks", "blocks": [asdict(b) for b in self.blocks[site]]}


def _site_counts(n_sites: int, fractions: dict[str, float]) -> dict[str, int]:
    counts = {name: round(n_sites * fractions[name]) for name in ("val", "test")}
    for name in ("val", "test"):
        if fractions[name] > 0:
            counts[name] = max(1, counts[name])
    # Train keeps at least one site: take back from the larger held-out split.
    while n_sites - counts["val"] - counts["test"] < 1:
        larger = "val" if counts["val"] >= counts["test"] else "test"
        counts[larger] -= 1
    counts["train"] = n_sites - counts["val"] - counts["test"]
    return counts


def _block_counts(n_positions: int, names: list[str], fractions: dict[str, float]) -> list[int]:
    total = sum(fractions[name] for name in names)
    counts = [max(1, round(n_positions * fractions[name] / total)) for name in names[1:]]
    while counts and n_positions - sum(counts) < 1 and max(counts) > 1:
        counts[counts.index(max(counts))] -= 1
    return [max(0, n_positions - sum(counts)), *counts]


def spatial_blocks(
    height_px: int,
    width_px: int,
    fractions: dict[str, float],
    tile_size_px: int,
    overlap_px: int = 0,
) -> list[SplitBlock]:
    """Bands along the longer axis for the splits with a fraction > 0.

    Band edges follow the tile grid (``tile_grid`` offsets), band sizes in tile positions
    are proportional to the fractions (renormalised over the splits present), and the tile
    positions between two bands are left out until the next band's first tile no longer
    touches the previous band's last one (one tile of buffer without overlap).
    """
    axis = 0 if height_px >= width_px else 1
    length_px = height_px if axis == 0 else width_px
    names = [name for name in SPLITS if fractions.get(name, 0.0) > 0]
    offsets = tile_offsets(length_px, tile_size_px, tile_size_px - overlap_px)
    gap_positions = tile_size_px // (tile_size_px - overlap_px)
    usable = len(offsets) - gap_positions * (len(names) - 1)
    if usable < len(names):
        logger.warning(
            "a %d px site holds too few %d px tiles for %d spatial blocks; some splits stay empty",
            length_px,
            tile_size_px,
            len(names),
        )
    counts = _block_counts(max(usable, 0), names, fractions)
    blocks: list[SplitBlock] = []
    position = 0
    for index, (name, count) in enumerate(zip(names, counts, strict=True)):
        last = min(position + count, len(offsets)) - 1
        if index == len(names) - 1:
            start_px, end_px = (
                (offsets[position] if position < len(offsets) else length_px),
                length_px,
            )
        elif last < position:
            start_px = end_px = offsets[position] if position < len(offsets) else length_px
        else:
            start_px = 0 if index == 0 else offsets[position]
            end_px = offsets[last] + tile_size_px
        blocks.append(SplitBlock(name, axis, start_px, end_px))
        position = last + 1
        while position < len(offsets) and offsets[position] <= end_px:
            position += 1
    return blocks


def plan_split(
    sites: dict[str, tuple[int, int]],
    fractions: dict[str, float],
    seed: int,
    tile_size_px: int,
    overlap_px: int = 0,
) -> SplitPlan:
    """Assign sites (or spatial blocks of them) to train/val/test.

    Args:
        sites: site name → (height_px, width_px) of its harmonized grid.
        fractions: {"train": f, "val": f, "test": f}, summing to 1.
        seed: makes the assignment reproducible.
        tile_size_px: tile size, sets the buffer between spatial blocks.
        overlap_px: tile overlap, so block edges follow the tile grid.

    Returns:
        The plan; deterministic for a given (sorted) set of names and seed.
    """
    names = sorted(sites)
    rng = random.Random(seed)
    rng.shuffle(names)
    if len(names) >= 3:
        counts = _site_counts(len(names), fractions)
        whole: dict[str, str] = {}
        cursor = 0
        for split in SPLITS:
            for name in names[cursor : cursor + counts[split]]:
                whole[name] = split
            cursor += counts[split]
        return SplitPlan(whole_sites=whole, blocks={})
    if len(names) == 2:
        train_site, held_out = names
        held_fractions = {"train": 0.0, "val": fractions["val"], "test": fractions["test"]}
        if held_fractions["val"] + held_fractions["test"] == 0:
            return SplitPlan(whole_sites={train_site: "train", held_out: "train"}, blocks={})
        height_px, width_px = sites[held_out]
        return SplitPlan(
            whole_sites={train_site: "train"},
            blocks={
                held_out: spatial_blocks(
                    height_px, width_px, held_fractions, tile_size_px, overlap_px
                )
            },
        )
    if len(names) == 1:
        (name,) = names
        height_px, width_px = sites[name]
        return SplitPlan(
            whole_sites={},
            blocks={name: spatial_blocks(height_px, width_px, fractions, tile_size_px, overlap_px)},
        )
    return SplitPlan(whole_sites={}, blocks={})

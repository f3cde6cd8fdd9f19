import itertools

import pytest

from forestgaps_engine.data.split import plan_split
from forestgaps_engine.geo.tiles import Tile, tile_grid

FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


def tiles_touch(a: Tile, b: Tile) -> bool:
    """True when the windows overlap or share an edge or a corner (8-neighbourhood)."""
    return (
        a.row_off <= b.row_end
        and b.row_off <= a.row_end
        and a.col_off <= b.col_end
        and b.col_off <= a.col_end
    )


def test_touching_means_sharing_a_cell_an_edge_or_a_corner():
    a = Tile(0, 0, 10, 10)
    assert tiles_touch(a, Tile(10, 10, 10, 10))
    assert not tiles_touch(a, Tile(11, 0, 10, 10))


@pytest.mark.parametrize("n_sites", [3, 4, 7, 20])
def test_three_or_more_sites_every_split_non_empty_and_deterministic(n_sites):
    sites = {f"s{i}": (128, 128) for i in range(n_sites)}
    plan = plan_split(sites, FRACTIONS, seed=3, tile_size_px=32)
    assert plan.blocks == {}
    assert set(plan.whole_sites) == set(sites)
    assert set(plan.whole_sites.values()) == {"train", "val", "test"}
    assert plan == plan_split(
        dict(reversed(list(sites.items()))), FRACTIONS, seed=3, tile_size_px=32
    )
    if n_sites == 20:
        train = sum(split == "train" for split in plan.whole_sites.values())
        assert train == 14


def test_seed_changes_assignment():
    sites = {f"s{i}": (64, 64) for i in range(10)}
    plans = {
        tuple(sorted(plan_split(sites, FRACTIONS, s, 32).whole_sites.items())) for s in range(6)
    }
    assert len(plans) > 1


def _tiles_by_split(plan, sites, tile_px, overlap_px):
    by_split = {}
    for site, (height_px, width_px) in sites.items():
        for tile in tile_grid(height_px, width_px, tile_px, overlap_px):
            split = plan.split_of(site, tile)
            if split is not None:
                by_split.setdefault(split, []).append((site, tile))
    return by_split


@pytest.mark.parametrize("overlap_px", [0, 8])
@pytest.mark.parametrize("n_sites", [1, 2])
def test_one_or_two_sites_are_cut_into_isolated_blocks(n_sites, overlap_px):
    sites = {f"s{i}": (320 + 40 * i, 200) for i in range(n_sites)}
    plan = plan_split(sites, FRACTIONS, seed=0, tile_size_px=32, overlap_px=overlap_px)
    by_split = _tiles_by_split(plan, sites, 32, overlap_px)
    assert set(by_split) == {"train", "val", "test"}
    for split_a, split_b in itertools.combinations(by_split, 2):
        for (site_a, tile_a), (site_b, tile_b) in itertools.product(
            by_split[split_a], by_split[split_b]
        ):
            if site_a == site_b:
                assert not tiles_touch(tile_a, tile_b), (split_a, tile_a, split_b, tile_b)
    if n_sites == 2:
        assert list(plan.whole_sites.values()) == ["train"]
        assert len(plan.blocks) == 1


def test_one_site_blocks_follow_the_longer_axis():
    plan = plan_split({"only": (100, 400)}, FRACTIONS, seed=0, tile_size_px=20)
    blocks = plan.blocks["only"]
    assert [b.split for b in blocks] == ["train", "val", "test"]
    assert all(b.axis == 1 for b in blocks)
    assert blocks[0].start_px == 0 and blocks[1].start_px - blocks[0].end_px == 20
    assert [b.end_px - b.start_px for b in blocks] == [240, 60, 60]
    assert blocks[-1].end_px == 400
    assert plan.rule_of("only")["rule"] == "spatial blocks"

"""From loaded sites to kept tiles: labels, tile grid, split assignment, samples."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.config.data import TerrainPriorConfig
from forestgaps_engine.config.root import ForestGapsConfig
from forestgaps_engine.data.labels import gap_masks
from forestgaps_engine.data.real_sites.builder import build_real_site, is_real_site
from forestgaps_engine.data.shards import TileSample, safe_key
from forestgaps_engine.data.sites import SiteRasters, load_raster_site, synthetic_site
from forestgaps_engine.data.split import SPLITS, SplitPlan
from forestgaps_engine.data.terrain_prior import degrade_ground, prior_rng
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.geo.tiles import Tile, tile_grid, tile_transform, valid_fraction
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)


@dataclass
class PreparedSite:
    """A site ready to tile: its rasters, validity (H, W) bool, masks (T, H, W) uint8, tiles."""

    rasters: SiteRasters
    valid: np.ndarray
    masks: np.ndarray
    tiles: list[Tile]

    @property
    def name(self) -> str:
        """The site's name (its rasters' folder name)."""
        return self.rasters.name


def tile_id(site: str, tile: Tile) -> str:
    """Unique id of a tile: ``<site>_r<row_off>_c<col_off>``."""
    return f"{safe_key(site)}_r{tile.row_off}_c{tile.col_off}"


def load_sites(config: ForestGapsConfig, staging: Path, reporter: Reporter) -> list[PreparedSite]:
    """Read or generate every site, label its gaps and lay its tile grid."""
    data = config.data
    total = len(data.sites) + data.synthetic_sites
    sites: list[PreparedSite] = []
    for index in range(total):
        step = reporter.sub(index / total, 1 / total)
        if index < len(data.sites):
            entry = data.sites[index]
            step.report(0.0, f"site {entry.name}: reading")
            load = build_real_site if is_real_site(entry) else load_raster_site
            rasters = load(entry, data.resolution_m, staging / "sites", step.sub(0.0, 0.8))
        else:
            step.report(0.0, f"synthetic site {index - len(data.sites) + 1}: generating")
            rasters = synthetic_site(index - len(data.sites), config.synth, data.resolution_m)
        valid = rasters.dsm.valid & rasters.chm.valid
        masks = gap_masks(rasters.chm, config.gaps)
        height_px, width_px = rasters.grid.shape
        tiles = tile_grid(height_px, width_px, data.tile_size_px, data.overlap_px)
        if not tiles:
            logger.warning(
                "site %s (%d x %d px) is smaller than one %d px tile; it gives no tile",
                rasters.name,
                width_px,
                height_px,
                data.tile_size_px,
            )
        sites.append(PreparedSite(rasters, valid, masks, tiles))
        step.report(1.0, f"site {rasters.name}: {len(tiles)} tiles")
    names = [safe_key(site.name) for site in sites]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(
            f"data.sites: site names {duplicates} are used twice (after replacing characters "
            "outside [A-Za-z0-9_-])",
            hint="Give every site a distinct name.",
        )
    return sites


def assign_tiles(
    sites: list[PreparedSite], plan: SplitPlan, min_valid_fraction: float
) -> tuple[dict[str, list[tuple[PreparedSite, Tile]]], list[dict[str, Any]]]:
    """Kept tiles per split, and a record for every tile (kept or dropped)."""
    kept: dict[str, list[tuple[PreparedSite, Tile]]] = {split: [] for split in SPLITS}
    records: list[dict[str, Any]] = []
    for site in sites:
        for tile in site.tiles:
            fraction = valid_fraction(site.valid, tile)
            split = plan.split_of(site.name, tile)
            record = {
                "tile_id": tile_id(site.name, tile),
                "site": site.name,
                "window": tile.as_dict(),
                "valid_fraction": round(fraction, 6),
                "split": split,
                "status": "kept",
                "reason": None,
            }
            if fraction < min_valid_fraction:
                record.update(status="dropped", reason="low_valid_fraction")
            elif split is None:
                record.update(status="dropped", reason="split_buffer")
            else:
                kept[split].append((site, tile))
            records.append(record)
    return kept, records


def drop_train_remainder(
    train: list[tuple[PreparedSite, Tile]], batch_size: int, seed: int
) -> tuple[list[tuple[PreparedSite, Tile]], list[tuple[PreparedSite, Tile]]]:
    """Shuffle train tiles (shards then mix sites) and cut them to a multiple of batch_size."""
    order = list(train)
    random.Random(seed).shuffle(order)
    remainder = len(order) % batch_size
    if len(order) < batch_size:
        logger.warning(
            "only %d training tiles for a batch size of %d: batches will not be full",
            len(order),
            batch_size,
        )
        return order, []
    if remainder:
        logger.info(
            "dropping %d training tile(s) so the %d left fill batches of %d",
            remainder,
            len(order) - remainder,
            batch_size,
        )
    return order[: len(order) - remainder], order[len(order) - remainder :]


def make_sample(
    site: PreparedSite,
    tile: Tile,
    split: str,
    thresholds_m: list[float],
    terrain_prior: TerrainPriorConfig | None = None,
    seed: int = 0,
) -> TileSample:
    """The shard sample of one tile (DSM, validity, masks, metadata).

    With ``terrain_prior.enabled`` the sample also holds a degraded copy of the tile's
    ground (DSM - CHM), drawn from (``seed``, tile id): see ``data/terrain_prior.py``.
    """
    grid = site.rasters.grid
    valid = site.valid[tile.slices()]
    dsm_m = np.where(valid, site.rasters.dsm.values[tile.slices()], np.nan).astype(np.float32)
    masks = {t: site.masks[i][tile.slices()] * valid for i, t in enumerate(thresholds_m)}
    n_valid = max(int(valid.sum()), 1)
    metadata = {
        "tile_id": tile_id(site.name, tile),
        "site": site.name,
        "split": split,
        "window": tile.as_dict(),
        "transform": list(tile_transform(grid.transform, tile))[:6],
        "crs": grid.crs,
        "resolution_m": list(grid.resolution_m),
        "valid_fraction": float(valid.mean()),
        "gap_ratio": {f"{t:g}": float(masks[t].sum()) / n_valid for t in thresholds_m},
    }
    prior_m = None
    if terrain_prior is not None and terrain_prior.enabled:
        ground_m = site.rasters.dsm.values[tile.slices()] - site.rasters.chm.values[tile.slices()]
        prior_m, drawn = degrade_ground(
            ground_m,
            valid & np.isfinite(ground_m),
            float(grid.resolution_m[0]),
            terrain_prior,
            prior_rng(seed, metadata["tile_id"]),
        )
        metadata["terrain_prior"] = drawn
    return TileSample(metadata["tile_id"], dsm_m, valid, masks, metadata, prior_m)

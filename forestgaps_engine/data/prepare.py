"""``prepare``: sites → harmonized grid → labels → tiles → site split → shards + stats + manifest.

Everything is written into a staging folder beside ``data.output_dir`` that replaces it only
when the whole run succeeds: a bad input, an error or a cancel leaves nothing partial.
Sites are held in memory one grid each (DSM, validity, one mask per threshold), which suits
sites up to a few thousand pixels a side.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.config.root import ForestGapsConfig
from forestgaps_engine.data.labels import labelling_record
from forestgaps_engine.data.records import (
    MANIFEST_NAME,
    NORMALIZATION_NAME,
    TILES_NAME,
    build_manifest,
    check_replaceable,
    staged_directory,
)
from forestgaps_engine.data.shards import ShardInfo, ShardWriter
from forestgaps_engine.data.site_tiles import (
    PreparedSite,
    assign_tiles,
    drop_train_remainder,
    load_sites,
    make_sample,
    tile_id,
)
from forestgaps_engine.data.split import SPLITS, SplitPlan, plan_split
from forestgaps_engine.data.statistics import PreparedStatistics
from forestgaps_engine.errors import ConfigError, DataError
from forestgaps_engine.files import write_json_atomic
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareResult:
    """What ``prepare`` wrote.

    Attributes:
        output_dir: the prepared folder.
        manifest_path: its manifest.json.
        normalization_path: its normalization.json.
        tiles_path: its tiles.jsonl.
        samples_per_split: samples written per split.
        dropped_tiles: tiles left out, by reason.
        content_sha256: hash over every shard.
    """

    output_dir: Path
    manifest_path: Path
    normalization_path: Path
    tiles_path: Path
    samples_per_split: dict[str, int]
    dropped_tiles: dict[str, int]
    content_sha256: str


def _write_tile_records(
    path: Path,
    records: list[dict[str, Any]],
    sites: list[PreparedSite],
    plan: SplitPlan,
    config: ForestGapsConfig,
) -> None:
    """tiles.jsonl: each tile's record plus every transformation that made it."""
    data = config.data
    tiling = {
        "tile_size_px": data.tile_size_px,
        "overlap_px": data.overlap_px,
        "min_valid_fraction": data.min_valid_fraction,
    }
    by_name = {site.name: site for site in sites}
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            site = by_name[record["site"]]
            record["transformations"] = {
                "site": site.rasters.record,
                "labelling": labelling_record(config.gaps, site.rasters.grid.cell_area_m2),
                "tiling": tiling,
                "split": {**plan.rule_of(site.name), "seed": config.training.seed},
            }
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def prepare(
    config: ForestGapsConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> PrepareResult:
    """Turn the configured sites into training shards in ``config.data.output_dir``.

    Steps: read each site (DSM + CHM, DSM + DTM → CHM, or a point cloud rasterized into
    ``sites/<name>/``) and generated synthetic sites onto one metric grid per site
    (optionally resampled to ``data.resolution_m``); label gaps at every
    ``gaps.thresholds_m`` on the whole site; tile it and drop tiles below
    ``data.min_valid_fraction``; split by site (``split.py``, seed ``training.seed``); cut
    the train split to a multiple of ``training.batch_size``; write shards, statistics,
    ``tiles.jsonl`` and the manifest.

    Args:
        config: the full config (sections data, gaps, synth, training are read).
        progress: callback(fraction 0..1, message).
        cancel: callback returning True to stop; nothing is left behind.

    Returns:
        Paths and counts of what was written.

    Raises:
        ConfigError: no site configured, or duplicate site names.
        DataError (InvalidDataFormatError, CRSMismatchError, EmptyRasterError): a site
            cannot be used; the message names the file.
        CancelledError: cancelled; ``data.output_dir`` is left as it was.
    """
    data = config.data
    if not data.sites and data.synthetic_sites == 0:
        raise ConfigError(
            "data.sites is empty and data.synthetic_sites is 0: nothing to prepare",
            hint="List sites under data.sites or set data.synthetic_sites (e.g. --set data.synthetic_sites=4).",
        )
    reporter = Reporter(progress, cancel)
    output_dir = Path(data.output_dir)
    check_replaceable(output_dir)
    thresholds_m = list(config.gaps.thresholds_m)
    seed = config.training.seed
    with staged_directory(output_dir) as staging:
        sites = load_sites(config, staging, reporter.sub(0.0, 0.4))
        plan = plan_split(
            {site.name: site.rasters.grid.shape for site in sites},
            data.split.model_dump(),
            seed,
            data.tile_size_px,
            data.overlap_px,
        )
        kept, records = assign_tiles(sites, plan, data.min_valid_fraction)
        kept["train"], remainder = drop_train_remainder(
            kept["train"], config.training.batch_size, seed
        )
        if not kept["train"]:
            raise DataError(
                f"no training tile: {len(records)} tiles of {data.tile_size_px} px, none kept for train "
                f"(min_valid_fraction {data.min_valid_fraction}, sites {[s.name for s in sites]})",
                hint="Lower data.tile_size_px or data.min_valid_fraction, or add sites.",
            )
        by_id = {record["tile_id"]: record for record in records}
        for site, tile in remainder:
            by_id[tile_id(site.name, tile)].update(status="dropped", reason="train_remainder")
        stats = PreparedStatistics([site.name for site in sites])
        shards: list[ShardInfo] = []
        written = 0
        total = sum(len(tiles) for tiles in kept.values())
        write_reporter = reporter.sub(0.4, 0.55)
        for split in SPLITS:
            if not kept[split]:
                logger.warning("split %s has no tile", split)
            with ShardWriter(staging, split, data.samples_per_shard) as writer:
                for position, (site, tile) in enumerate(kept[split]):
                    sample = make_sample(
                        site, tile, split, thresholds_m, data.terrain_prior, seed
                    )
                    writer.write(sample)
                    stats.add(sample, split)
                    by_id[sample.key].update(
                        shard=f"{split}/{split}-{position // data.samples_per_shard:06d}.tar",
                        index_in_shard=position % data.samples_per_shard,
                        gap_ratio=sample.metadata["gap_ratio"],
                    )
                    written += 1
                    if written % 64 == 0:
                        write_reporter.report(written / total, f"{written}/{total} tiles written")
            shards.extend(writer.shards)
        reporter.report(0.95, "writing manifest")
        _write_tile_records(staging / TILES_NAME, records, sites, plan, config)
        normalization = stats.result(data.normalization)
        write_json_atomic(staging / NORMALIZATION_NAME, normalization)
        dropped = dict(Counter(r["reason"] for r in records if r["status"] == "dropped"))
        sites_summary = {
            site.name: {
                "split": plan.rule_of(site.name),
                "grid": site.rasters.record.get("grid"),
                "provenance": site.rasters.record.get("provenance"),
                "n_tiles": len(site.tiles),
                "n_tiles_kept": sum(
                    1 for r in records if r["site"] == site.name and r["status"] == "kept"
                ),
            }
            for site in sites
        }
        manifest = build_manifest(config, shards, staging, sites_summary, dropped)
        write_json_atomic(staging / MANIFEST_NAME, manifest)
        reporter.check()
    counts = {split: manifest["splits"][split]["n_samples"] for split in SPLITS}
    reporter.report(1.0, f"prepared {sum(counts.values())} tiles in {output_dir}")
    logger.info(
        "prepared %s: %s samples (train/val/test), %s dropped",
        output_dir,
        "/".join(str(counts[s]) for s in SPLITS),
        dropped or "none",
    )
    return PrepareResult(
        output_dir=output_dir,
        manifest_path=output_dir / MANIFEST_NAME,
        normalization_path=output_dir / NORMALIZATION_NAME,
        tiles_path=output_dir / TILES_NAME,
        samples_per_split=counts,
        dropped_tiles=dropped,
        content_sha256=manifest["content_sha256"],
    )

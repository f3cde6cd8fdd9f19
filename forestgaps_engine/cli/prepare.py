"""``forestgaps prepare`` (sites → training shards) and ``forestgaps tile-info``."""

from __future__ import annotations

import argparse
import json
import sys

from forestgaps_engine.cli.common import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps prepare`` and ``tile-info`` subcommands to ``subparsers``."""
    parser = subparsers.add_parser(
        "prepare",
        help="turn sites (rasters, point clouds, synthetic) into training shards",
        description=(
            "Harmonize each site onto one metric grid, label gaps at every threshold, tile, "
            "split by site, and write tar shards, normalization.json, tiles.jsonl and "
            "manifest.json into data.output_dir."
        ),
    )
    add_config_options(parser)
    parser.set_defaults(handler=run_prepare)
    info = subparsers.add_parser(
        "tile-info", help="show how one prepared tile was made (sources, warps, labels, split)"
    )
    info.add_argument("prepared_dir", metavar="DIR", help="a 'forestgaps prepare' output folder")
    info.add_argument("tile_id", metavar="TILE_ID", help="e.g. synthetic_0000_r64_c128")
    info.set_defaults(handler=run_tile_info)


def run_prepare(args: argparse.Namespace) -> int:
    """Prepare training shards from the config and print their summary as JSON; return 0."""
    from forestgaps_engine.data.prepare import prepare

    result = prepare(config_from_args(args))
    summary = {
        "output_dir": str(result.output_dir),
        "samples_per_split": result.samples_per_split,
        "dropped_tiles": result.dropped_tiles,
        "content_sha256": result.content_sha256,
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0


def run_tile_info(args: argparse.Namespace) -> int:
    """Print how one prepared tile was made as JSON; return 0."""
    from forestgaps_engine.data.records import tile_record

    record = tile_record(args.prepared_dir, args.tile_id)
    sys.stdout.write(json.dumps(record, indent=2) + "\n")
    return 0

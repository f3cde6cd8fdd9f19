"""``forestgaps region TILES...``: gap maps over a region of tiles, in blocks on Dask."""

from __future__ import annotations

import argparse
import json
import sys

from forestgaps_engine.cli import common


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``region`` subcommand."""
    parser = subparsers.add_parser(
        "region",
        help="seamless gap maps over a folder, list or VRT of DSM/CHM tiles, on Dask",
        description=(
            "Mosaics the tiles (any CRS) into one grid, predicts it in blocks on a Dask "
            "LocalCluster or scheduler, and writes one COG per threshold, one gap layer "
            "(GeoPackage and GeoParquet) and summary.json. A rerun into the same --out "
            "redoes only the blocks a crash or kill left unfinished."
        ),
    )
    parser.add_argument("tiles", nargs="+", metavar="TILES", help="folder, rasters or VRT")
    common.add_thresholds_option(parser, "gap height threshold in metres (repeatable)", True)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--scheduler", default="local", metavar="ADDRESS",
        help="Dask scheduler address (tcp://host:8786), or local (default): a LocalCluster",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, metavar="N", help="local workers (default: cores)")
    parser.add_argument(
        "--method", choices=("model", "classic"), default="model",
        help="model (DSM tiles) or classic (CHM tiles, ForestGapR semantics)",
    )  # fmt: skip
    parser.add_argument(
        "--chm", action="store_const", const="classic", dest="method",
        help="the tiles are CHMs: same as --method classic",
    )  # fmt: skip
    parser.add_argument("--model", default="default", help="model folder (default: bundled)")
    parser.add_argument(
        "--block-size", dest="block_size_px", type=int, default=2048, metavar="PX",
        help="block side in pixels; sets each worker's memory (default 2048)",
    )  # fmt: skip
    parser.add_argument("--crs", help="CRS of the region grid (default: most tiles' CRS)")
    parser.add_argument(
        "--resolution", dest="resolution_m", type=float, metavar="M",
        help="cell size of the region grid (default: finest tile's, or the model's)",
    )  # fmt: skip
    common.add_area_options(parser, defaults_m2=(None, None), helps=(
        "smallest gap kept, m2 (default: 1 classic, the inference config's for model)",
        "largest gap kept, m2 (default: 10000 classic, none for model)",
    ))  # fmt: skip
    common.add_model_run_options(parser)
    parser.add_argument(
        "--dry-run", action="store_true",
        help="print the block plan and the time estimated from one calibration block",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def _settings(args: argparse.Namespace) -> object:
    from pydantic import ValidationError

    from forestgaps_engine.cli.common import options_error
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.region.run import RegionSettings

    overrides = {
        key: getattr(args, key)
        for key in ("tile_size_px", "overlap_px", "batch_size", "backend", "device")
        if getattr(args, key) is not None
    }
    if args.method == "model":
        if args.min_area_m2 is not None:
            overrides["min_gap_area_m2"] = args.min_area_m2
        if args.max_area_m2 is not None:
            overrides["max_gap_area_m2"] = args.max_area_m2
    try:
        config = InferenceConfig(**overrides)
    except ValidationError as error:
        raise options_error(error, common.INFERENCE_FLAGS, "region") from error
    return RegionSettings(
        method=args.method,
        model=args.model,
        config=config,
        block_size_px=args.block_size_px,
        crs=args.crs,
        resolution_m=args.resolution_m,
        min_area_m2=1.0 if args.min_area_m2 is None else args.min_area_m2,
        max_area_m2=10000.0 if args.max_area_m2 is None else args.max_area_m2,
    )


def run(args: argparse.Namespace) -> int:
    """Run (or plan) the region and print where its outputs are."""
    from forestgaps_engine.region.run import region

    def progress(fraction: float, message: str) -> None:
        sys.stderr.write(f"\r[{'#' * int(30 * fraction):<30}] {100 * fraction:5.1f}% {message}")
        sys.stderr.flush()

    result = region(
        args.tiles, args.thresholds_m, args.out, _settings(args), args.scheduler,
        args.workers, args.dry_run, progress if sys.stderr.isatty() else None,
    )  # fmt: skip
    if args.dry_run:
        sys.stdout.write(json.dumps(result.summary, indent=2) + "\n")
        return 0
    lines = [f"outputs in {result.out_dir}", f"  dashboard was {result.summary.get('dashboard')}"]
    for item in result.summary["thresholds"]:
        lines.append(
            f"  {item['threshold_m']:g} m: {item['n_gaps']} gaps, "
            f"{item['total_gap_area_m2']:.0f} m2 ({100 * item['gap_fraction']:.1f}%)"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

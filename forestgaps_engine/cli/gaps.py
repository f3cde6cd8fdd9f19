"""``forestgaps gaps-from-chm``: ForestGapR-style gaps, stats and polygons from a CHM."""

from __future__ import annotations

import argparse
import sys

from forestgaps_engine.cli.common import add_area_options, add_thresholds_option


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps gaps-from-chm`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "gaps-from-chm",
        help="detect canopy gaps in a CHM at height thresholds (ForestGapR semantics)",
        description=(
            "Gap cells have height <= threshold, form 8-connected patches and are kept when "
            "min-area <= area <= max-area. Writes per threshold a gap-id GeoTIFF, a stats "
            "CSV and a GeoPackage of polygons, plus summary.json."
        ),
    )
    parser.add_argument("chm", metavar="CHM.tif", help="canopy height model, heights in metres")
    add_thresholds_option(
        parser, "height threshold in metres (repeatable: --threshold 5 --threshold 10)", True
    )
    add_area_options(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--crs", metavar="EPSG:XXXX", help="CRS to assign when the CHM has none (e.g. EPSG:2154)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``forestgaps gaps-from-chm`` from the parsed flags; return the exit code (0: done)."""
    from pydantic import ValidationError

    from forestgaps_engine.cli.common import options_error
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.detection import detect
    from forestgaps_engine.files import threshold_label
    from forestgaps_engine.gaps.pipeline import validate_gap_parameters

    # ForestGapR's bounds first: they allow 0 and word the message as this command's help.
    validate_gap_parameters(args.thresholds_m, args.min_area_m2, args.max_area_m2)
    flags = {"min_gap_area_m2": "--min-area", "max_gap_area_m2": "--max-area"}
    try:
        config = InferenceConfig(
            min_gap_area_m2=args.min_area_m2, max_gap_area_m2=args.max_area_m2
        )
    except ValidationError as error:
        raise options_error(error, flags, "gaps-from-chm") from error
    # The classic route of the engine call every face shares.
    result = detect(
        None, args.thresholds_m, args.out, chm=args.chm, route="classic", config=config,
        crs_overrides={"chm": args.crs} if args.crs else None,
    )  # fmt: skip
    lines = [f"outputs in {result.out_dir}"]
    for item in result.thresholds:
        lines.append(
            f"  {threshold_label(item.threshold_m)}: {item.n_gaps} gaps, "
            f"{item.total_gap_area_m2:g} m2 ({100 * item.gap_fraction:.2f}% of valid area): "
            f"{item.gap_ids_path.name}, {item.stats_path.name}, {item.polygons_path.name}"
        )
    lines.append(f"  summary: {result.summary_path}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

"""``forestgaps gaps-from-chm``: ForestGapR-style gaps, stats and polygons from a CHM."""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
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
    parser.add_argument(
        "--threshold",
        dest="thresholds_m",
        type=float,
        action="append",
        required=True,
        metavar="METRES",
        help="height threshold in metres (repeatable: --threshold 5 --threshold 10)",
    )
    parser.add_argument(
        "--min-area", dest="min_area_m2", type=float, default=1.0, metavar="M2",
        help="smallest gap kept, m2 (inclusive; default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--max-area", dest="max_area_m2", type=float, default=10000.0, metavar="M2",
        help="largest gap kept, m2 (inclusive; default 10000)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--crs", metavar="EPSG:XXXX", help="CRS to assign when the CHM has none (e.g. EPSG:2154)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from forestgaps_engine.gaps.pipeline import gaps_from_chm

    result = gaps_from_chm(
        args.chm,
        args.thresholds_m,
        args.out,
        min_area_m2=args.min_area_m2,
        max_area_m2=args.max_area_m2,
        crs=args.crs,
    )
    lines = [f"outputs in {result.out_dir}"]
    for item in result.thresholds:
        lines.append(
            f"  {item.label}: {item.n_gaps} gaps, {item.total_gap_area_m2:g} m2 "
            f"({100 * item.gap_fraction:.2f}% of valid area): {item.raster_path.name}, "
            f"{item.stats_path.name}, {item.gpkg_path.name}"
        )
    lines.append(f"  summary: {result.summary_path}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

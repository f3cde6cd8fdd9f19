"""``forestgaps change BEFORE AFTER --threshold T --out DIR``: gap changes between two dates."""

from __future__ import annotations

import argparse
import sys

from forestgaps_engine.cli.common import add_area_options, add_thresholds_option


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``change`` subcommand."""
    parser = subparsers.add_parser(
        "change",
        help="gap changes between two dates (ForestGapR GapChangeDec, classes, events)",
        description=(
            "Compares the gaps of two surveys at each threshold. BEFORE and AFTER are CHMs "
            "(classic detector, ForestGapR semantics) or, with --input dsm, DSMs: with --dtm "
            "for each date the CHM is DSM - DTM, without DTMs the model detects the gaps. "
            "Rasters on different grids or CRSs are brought onto one grid (the finer by "
            "default). Writes per threshold change_tT.tif (2 = new gap), "
            "change_classes_tT.tif, gap_events_tT.gpkg, size_frequency_tT.png, and "
            "summary.json."
        ),
    )
    parser.add_argument("before", metavar="BEFORE", help="first-date raster (CHM, or DSM)")
    parser.add_argument("after", metavar="AFTER", help="second-date raster of the same kind")
    add_thresholds_option(parser, "height threshold in metres (repeatable)", True)
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--input", dest="kind", choices=("chm", "dsm"), default="chm",
        help="what BEFORE and AFTER hold (default chm)",
    )  # fmt: skip
    parser.add_argument(
        "--dtm", dest="dtms", action="append", default=[], metavar="DTM.tif",
        help="with --input dsm: the DTM of each date, given twice (BEFORE's, then AFTER's)",
    )  # fmt: skip
    parser.add_argument(
        "--model", default=None,
        help="with --input dsm and no --dtm: model folder or 'default' (bundled)",
    )  # fmt: skip
    add_area_options(parser)
    parser.add_argument(
        "--dates", nargs=2, metavar=("YYYY-MM-DD", "YYYY-MM-DD"),
        help="survey dates of BEFORE and AFTER: adds rates per hectare per year",
    )  # fmt: skip
    parser.add_argument(
        "--grid", dest="grid_choice", choices=("finer", "before", "after"), default="finer",
        help="whose grid both dates go onto (default: the finer)",
    )  # fmt: skip
    parser.add_argument(
        "--crs", metavar="EPSG:XXXX", help="CRS to assign to rasters that store none"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print what was written."""
    from pathlib import Path

    from forestgaps_engine.detection.change import gap_change
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.gaps.change_inputs import DateInputs

    if args.dtms and args.kind != "dsm":
        raise ConfigError(
            f"--dtm {' '.join(args.dtms)} was given but --input is {args.kind}",
            hint="Add --input dsm when BEFORE and AFTER are DSMs, or drop --dtm.",
        )
    if len(args.dtms) not in (0, 2):
        raise ConfigError(
            f"--dtm was given {len(args.dtms)} time(s): {' '.join(args.dtms)}",
            hint="Give --dtm twice, BEFORE's DTM then AFTER's, or not at all (the model).",
        )
    if args.model is not None and (args.kind != "dsm" or args.dtms):
        raise ConfigError(
            f"--model {args.model} applies only to --input dsm without --dtm",
            hint="Drop --model: CHMs and DSM - DTM use the classic detector.",
        )
    inputs = DateInputs(
        before=Path(args.before),
        after=Path(args.after),
        kind=args.kind,
        before_dtm=Path(args.dtms[0]) if args.dtms else None,
        after_dtm=Path(args.dtms[1]) if args.dtms else None,
        crs=args.crs,
    )
    result = gap_change(
        inputs,
        args.thresholds_m,
        args.out,
        min_area_m2=args.min_area_m2,
        max_area_m2=args.max_area_m2,
        dates=args.dates,
        grid_choice=args.grid_choice,
        model=args.model,
    )
    lines = [f"grid: {result.grid_message}", f"outputs in {result.out_dir}"]
    for label, figures in result.summary["thresholds"].items():
        rates = figures["rates"]
        rate = (
            f", {rates['new_gap_area_m2_per_ha_per_year']:.2f} m2/ha/year new"
            if rates
            else ""
        )
        lines.append(
            f"  {label}: {figures['new_gap_area_m2']:g} m2 of new gap "
            f"({figures['new_gap_count']} new gaps, {figures['events']['expansion']} expanded), "
            f"{figures['closed_gap_area_m2']:g} m2 closed{rate}"
        )
    lines.append(f"  summary: {result.summary_path}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

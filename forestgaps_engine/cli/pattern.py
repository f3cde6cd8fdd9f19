"""``forestgaps pattern GAPS``: Clark-Evans and Ripley's K/L of the gaps (ForestGapR's GapsSpatPattern)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pattern`` subcommand."""
    parser = subparsers.add_parser(
        "pattern",
        help="spatial pattern of gaps: Clark-Evans R and test, Ripley's K and L with envelopes",
        description=(
            "Reads gap polygons (gaps_tT.gpkg) or a gap raster (gaps_tT.tif, gap_mask_tT.tif, "
            "change_tT.tif), takes each gap's centre as ForestGapR's GapSPDF does, and writes "
            "<stem>_pattern.json (Clark-Evans R, its Z-test, K and L with CSR envelopes) and "
            "<stem>_pattern.png (K and L as ForestGapR plots them)."
        ),
    )
    parser.add_argument("gaps", metavar="GAPS", help="gap GeoPackage or gap raster")
    parser.add_argument(
        "--window", metavar="CHM.tif",
        help="raster whose extent is the study window (ForestGapR: the CHM); default: the "
        "gap raster's extent, or the layer's extent for a GeoPackage",
    )  # fmt: skip
    parser.add_argument(
        "--simulations", dest="n_simulations", type=int, default=99, metavar="N",
        help="CSR simulations of the envelopes (default 99)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: beside GAPS)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compute and print the pattern statistics."""
    from forestgaps_engine.gaps.pattern_run import gap_pattern

    result = gap_pattern(args.gaps, args.out, args.window, args.n_simulations, args.seed)
    index = result.summary["clark_evans"]
    ripley = result.summary["ripley"]
    sys.stdout.write(
        f"{result.summary['n_gaps']} gaps, window {result.summary['window']['source']}\n"
        f"  Clark-Evans R = {index['R']:.4f} (no edge correction; Donnelly "
        f"{index['R_donnelly']:.4f}), z = {index['z']:.3f}, p = {index['p_value']:.4g}: "
        f"{index['pattern']}\n"
        f"  Ripley K: observed above the envelope at {100 * ripley['share_of_radii_above_envelope']:.0f}% "
        f"of radii, below at {100 * ripley['share_of_radii_below_envelope']:.0f}%\n"
        f"  {result.json_path}\n  {result.plot_path}\n"
    )
    return 0

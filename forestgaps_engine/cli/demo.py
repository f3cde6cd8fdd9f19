"""``forestgaps demo``: the main job on an embedded default, printing where outputs are."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps demo`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "demo", help="detect gaps in a generated synthetic forest (default model on the DSM, classic on the CHM)"
    )
    parser.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo on a generated forest and print its inputs, outputs and IoU; return 0."""
    from forestgaps_engine.demo import run_demo

    result = run_demo(args.out)
    lines = [f"ForestGaps demo ({result.method})", f"inputs:    {result.out_dir / 'site'}"]
    lines += [f"output:    {path}" for path in result.outputs]
    lines.append(f"quick-look: {result.quicklook_png}")
    lines += [
        f"t{threshold_m:g}: pixel IoU of the DSM-only model vs the CHM truth = {iou:.3f}"
        for threshold_m, iou in result.iou_by_threshold.items()
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

"""``forestgaps demo``: the main job on an embedded default, printing where outputs are."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="detect gaps in a generated synthetic forest and write maps + a quick-look"
    )
    parser.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from forestgaps_engine.demo import run_demo

    result = run_demo(args.out)
    lines = [f"ForestGaps demo ({result.method})", f"inputs:    {result.out_dir / 'site'}"]
    lines += [f"output:    {path}" for path in result.outputs]
    lines.append(f"quick-look: {result.quicklook_png}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

"""``forestgaps models``: list the model zoo, or regenerate docs/models.md."""

from __future__ import annotations

import argparse
import json
import logging
import sys

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps models`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "models",
        help="list registered architectures (params, GFLOPs per 256 px tile)",
        description="List the registered model architectures with their default parameters, "
        "parameter count and GFLOPs per 256x256 tile (1 MAC = 2 FLOPs).",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.add_argument(
        "--write-doc",
        metavar="PATH",
        help="measure every model on this machine (also CPU ms and activation memory) "
        "and write the Markdown table to PATH, e.g. docs/models.md",
    )
    parser.add_argument(
        "--tile-size-px", type=int, default=256, help="tile edge for --write-doc (default 256)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed forwards per model for --write-doc"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads while measuring (--write-doc)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """List the registered architectures, or write their doc with ``--write-doc``; return 0."""
    if args.write_doc:
        from forestgaps_engine.models.doc import write_models_doc

        measurements = write_models_doc(
            args.write_doc, args.tile_size_px, args.repeats, args.threads
        )
        logger.info("wrote %s (%d models)", args.write_doc, len(measurements))
        return 0

    from forestgaps_engine.models.summary import describe_models

    infos = describe_models()
    if args.json:
        sys.stdout.write(json.dumps([info.to_dict() for info in infos], indent=2) + "\n")
        return 0
    width = max(len(info.name) for info in infos)
    sys.stdout.write(f"{'model':<{width}}  {'params':>8}  {'GFLOPs/256²':>11}  description\n")
    for info in infos:
        sys.stdout.write(
            f"{info.name:<{width}}  {info.param_count / 1e6:>7.2f}M  "
            f"{info.gflops_per_256_tile:>11.2f}  {info.description}\n"
        )
    return 0

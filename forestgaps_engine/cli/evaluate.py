"""``forestgaps evaluate``: score a model against the DSM baseline and the CHM ceiling.

``forestgaps evaluate --dsm DSM.tif --chm CHM.tif [--model PATH] --out DIR``, or
``forestgaps evaluate --data PREPARED [--split test] [--model PATH] --out DIR``.

Scores a model (when given and available) next to the DSM-only baseline and the CHM
ceiling, against ForestGapR labels from the CHM (or DSM - DTM with ``--dtm``); with
``--data``, on the labelled tiles of a prepared split (``evaluation/shards.py``).
"""

from __future__ import annotations

import argparse
import logging

from forestgaps_engine.cli.common import (
    add_config_options,
    add_thresholds_option,
    config_from_args,
    log_progress,
)

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps evaluate`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model and the two baselines against CHM gap labels (report.md, CSV, PNG)",
    )
    parser.add_argument("--dsm", help="DSM GeoTIFF the model and the DSM-only baseline read")
    reference = parser.add_mutually_exclusive_group(required=True)
    reference.add_argument("--chm", help="reference CHM GeoTIFF (labels: ForestGapR on it)")
    reference.add_argument("--dtm", help="DTM GeoTIFF; the reference CHM is DSM - DTM")
    reference.add_argument(
        "--data",
        metavar="PREPARED",
        help="a `forestgaps prepare` output folder: score its tiles' labels (see --split)",
    )
    parser.add_argument(
        "--model",
        help="model folder, or 'default'; left out: evaluate the baselines alone "
        "(with --data: the default model)",
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("test", "val", "train"),
        help="with --data: the split scored (default test)",
    )
    parser.add_argument(
        "--max-tiles",
        type=int,
        default=256,
        metavar="N",
        help="with --data: at most N tiles, spread evenly over the split (default 256)",
    )
    parser.add_argument(
        "--cell-size",
        dest="cell_size_m",
        type=float,
        metavar="METRES",
        help="with --data whose sites have several cell sizes: the tiles scored "
        "(default: the cell size most of the split's tiles have)",
    )
    add_thresholds_option(
        parser, "gap height threshold in metres (repeatable; default: gaps.thresholds_m)"
    )
    parser.add_argument("--site", help="site name in the bias table (default: the DSM file name)")
    parser.add_argument(
        "--out", default="out/evaluate", help="output folder (default out/evaluate)"
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``forestgaps evaluate`` from the parsed flags; return the exit code (0: done)."""
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.evaluation.api import evaluate

    if args.data:
        if args.dsm:
            raise ConfigError(
                "--data scores prepared tiles and takes no --dsm",
                hint="Pass either --data PREPARED or --dsm DSM.tif with --chm/--dtm.",
            )
        return _run_on_prepared(args)
    if args.cell_size_m is not None:
        raise ConfigError(
            "--cell-size picks the tiles of --data; a --dsm is scored on its own cells",
            hint="Drop --cell-size, or pass --data PREPARED.",
        )
    if args.dtm and not args.dsm:
        raise ConfigError("--dtm needs --dsm", hint="Pass --dsm DSM.tif --dtm DTM.tif.")
    if args.model and not args.dsm:
        raise ConfigError(
            "--model needs --dsm (the model reads the DSM)", hint="Add --dsm DSM.tif."
        )
    config = config_from_args(args)
    reference = {"dsm": args.dsm, "chm": args.chm, "dtm": args.dtm}
    thresholds = args.thresholds_m or config.gaps.thresholds_m

    result = evaluate(
        reference,
        args.model,
        thresholds,
        args.out,
        gaps=config.gaps,
        inference=config.inference,
        site=args.site,
        progress=log_progress,
    )
    _log_scores(result)
    return 0


def _run_on_prepared(args: argparse.Namespace) -> int:
    from forestgaps_engine.evaluation.shards import evaluate_shards

    config = config_from_args(args)

    result = evaluate_shards(
        args.data,
        args.model or "default",
        args.split,
        args.thresholds_m,
        args.out,
        config.inference,
        args.max_tiles,
        progress=log_progress,
        cell_size_m=args.cell_size_m,
    )
    _log_scores(result)
    return 0


def _log_scores(result: object) -> None:
    for item in result.scores:
        logger.info(
            "%-24s %5g m: IoU %.3f  F1 %.3f  object F1 %s  boundary F1 %.3f",
            item.method,
            item.threshold_m,
            item.pixel.iou,
            item.pixel.f1,
            "-" if item.objects.overall.f1 is None else f"{item.objects.overall.f1:.3f}",
            item.boundary.f1,
        )
    for note in result.notes:
        logger.info("note: %s", note)
    logger.info("report: %s", result.files.report)

"""``forestgaps predict DSM [DSM|DIR ...] --threshold 5 --threshold 10``: gap maps.

One DSM file writes into ``--out``; several DSMs or folders write ``--out/<stem>/`` each,
with one model load. ``--shard-index i --shard-count n`` makes this process take every
n-th DSM of the sorted list, for running n processes side by side.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from forestgaps_engine.cli.common import (
    INFERENCE_FLAGS,
    add_area_options,
    add_config_options,
    add_model_run_options,
    add_thresholds_option,
    config_from_args,
    log_progress,
    options_error,
)

logger = logging.getLogger(__name__)

# inference config field -> the flag that sets it
FLAGS = {**INFERENCE_FLAGS, "probability_cutoff": "--cutoff"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps predict`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict gap probability, mask and polygons of a DSM for one or more thresholds",
    )
    parser.add_argument(
        "dsm",
        nargs="+",
        help="single-band DSM GeoTIFF(s) in metres, or folder(s) of *.tif",
    )
    add_thresholds_option(
        parser, "gap height threshold in metres (repeatable; default: gaps.thresholds_m of the "
        "config)",
    )  # fmt: skip
    parser.add_argument("--model", default="default", help="model folder, or 'default' (bundled)")
    parser.add_argument("--out", default="out/predict", help="output folder (default out/predict)")
    add_model_run_options(parser)
    add_area_options(parser, ("min_gap_area_m2", "max_gap_area_m2"), (None, None), (
        None, "drop gaps larger than this (ForestGapR's default bound is 10000); default: none",
    ))  # fmt: skip
    parser.add_argument("--cutoff", dest="probability_cutoff", type=float, metavar="P")
    parser.add_argument(
        "--terrain-prior",
        metavar="DEM",
        help="coarse elevation model (any CRS and cell size, e.g. a national 5-25 m or a "
        "global 30 m DEM) for a model trained with a terrain prior",
    )
    parser.add_argument(
        "--chm",
        metavar="CHM.tif",
        help="canopy height model: the classic ForestGapR rule runs on it when no model is "
        "usable, else each mask's agreement with it is logged (one DSM only)",
    )
    parser.add_argument(
        "--dtm", metavar="DTM.tif", help="terrain model: as --chm, with CHM = DSM - DTM"
    )
    parser.add_argument(
        "--extent",
        nargs=4,
        type=float,
        metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
        help="cut the inputs to this box, in the DSM's CRS (one DSM only)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="run the model on a ForestGaps server (forestgaps serve), e.g. "
        "http://127.0.0.1:8000 (one DSM only)",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help="bearer token of the --server (forestgaps serve --token); default: the "
        "environment variable FORESTGAPS_TOKEN, which keeps it out of the process list",
    )
    parser.add_argument(
        "--shard-index",
        type=int,
        default=0,
        metavar="I",
        help="this process's share of the DSM list (0-based, default 0)",
    )
    parser.add_argument(
        "--shard-count",
        type=int,
        default=1,
        metavar="N",
        help="number of processes sharing the DSM list (default 1)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``forestgaps predict`` from the parsed flags; return the exit code (0: done)."""
    from pydantic import ValidationError

    from forestgaps_engine.errors import BatchError, ConfigError
    from forestgaps_engine.inference.batch import predict_many

    config = config_from_args(args)
    flags = {key: getattr(args, key) for key in FLAGS if getattr(args, key) is not None}
    try:
        inference = config.inference.model_validate({**config.inference.model_dump(), **flags})
    except ValidationError as error:
        raise options_error(error, FLAGS, "predict") from error
    thresholds = args.thresholds_m or config.gaps.thresholds_m

    if args.token is not None and not args.server:
        raise ConfigError(
            "--token goes with --server (the bearer token of a ForestGaps server)",
            hint="Add --server URL, or drop --token.",
        )
    if len(args.dsm) == 1 and Path(args.dsm[0]).is_file() and args.shard_count == 1:
        return _detect_one(args, thresholds, inference)
    for flag, value in (("--chm", args.chm), ("--dtm", args.dtm), ("--extent", args.extent),
                        ("--server", args.server)):  # fmt: skip
        if value is not None:
            raise ConfigError(
                f"{flag} goes with one DSM file, not {len(args.dsm)} inputs or a folder",
                hint=f"Run predict once per DSM with {flag}, or drop {flag}.",
            )
    try:
        results = predict_many(
            args.dsm,
            thresholds,
            args.model,
            args.out,
            inference,
            shard_index=args.shard_index,
            shard_count=args.shard_count,
            progress=log_progress,
            terrain_prior=args.terrain_prior,
        )
    except BatchError as error:
        # The DSMs that finished are reported before the failures end the run with 2.
        _log_results(error.results)
        raise
    _log_results(results)
    return 0


def _detect_one(args: argparse.Namespace, thresholds: list[float], inference: Any) -> int:
    """One DSM through the engine call every face shares (model, server or classic)."""
    from forestgaps_engine.detection import RemoteServer, detect
    from forestgaps_engine.serve.security import resolve_token

    remote = None
    if args.server:
        # The token `forestgaps serve` takes: --token, else the same environment variable.
        remote = RemoteServer(args.server, token=resolve_token(args.token) or None)
    result = detect(
        args.dsm[0], thresholds, args.out, chm=args.chm, dtm=args.dtm, model=args.model,
        extent=tuple(args.extent) if args.extent else None, config=inference, remote=remote,
        terrain_prior=args.terrain_prior, progress=log_progress,
    )  # fmt: skip
    for note in result.notes:
        logger.info("%s", note)
    _log_thresholds(result.thresholds)
    summary = json.loads(result.summary_path.read_text(encoding="utf-8"))
    backend = summary.get("backend") or ("server" if remote else result.method)
    logger.info("summary: %s (backend %s)", result.summary_path, backend)
    return 0


def _log_results(results: list) -> None:
    for result in results:
        _log_thresholds(result.thresholds)
        logger.info("summary: %s (backend %s)", result.summary_path, result.summary["backend"])


def _log_thresholds(items: Any) -> None:
    """One line per threshold: gaps, area, share of valid cells and the mask (or gap ids)."""
    for item in items:
        logger.info(
            "%g m: %d gaps, %.0f m2 (%.1f %% of valid cells) -> %s",
            item.threshold_m, item.n_gaps, item.total_gap_area_m2, 100 * item.gap_fraction,
            item.mask_path or getattr(item, "gap_ids_path", None),
        )  # fmt: skip

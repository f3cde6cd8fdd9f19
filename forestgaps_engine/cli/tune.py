"""``forestgaps tune``: Optuna search (TPE + median pruning) stored in SQLite; writes best.yaml."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from forestgaps_engine.cli.common import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps tune`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "tune",
        help="search learning rate, loss weights, dropout and width with Optuna (resumable)",
        description="Add --trials trials to the study in --study-db (same --study-name "
        "continues it). Each trial trains config.model for training.epochs on the prepared "
        "data (prepared once) and is pruned when its validation score trails the median. "
        "The best trial is written as a complete config, best.yaml.",
    )
    add_config_options(parser)
    parser.add_argument("--trials", type=int, required=True, help="trials to add in this call")
    parser.add_argument(
        "--study-db", default="out/tune/study.db", metavar="FILE", help="SQLite study file"
    )
    parser.add_argument("--study-name", help="study name (default: the model name)")
    parser.add_argument("--out", help="trial folders and best.yaml (default: beside the db)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop starting trials")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``forestgaps tune`` from the parsed flags; return the exit code (0: done)."""
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.experiments.tuning import tune

    if args.trials < 1:
        raise ConfigError(f"--trials {args.trials}: must be >= 1", hint="Pass --trials 20.")
    result = tune(
        config_from_args(args),
        args.trials,
        args.study_db,
        study_name=args.study_name,
        out_dir=args.out,
        timeout_s=args.timeout,
    )
    # default=str writes best_config's path as text.
    sys.stdout.write(json.dumps(asdict(result), indent=2, default=str) + "\n")
    return 0

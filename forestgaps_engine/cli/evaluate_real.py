"""``forestgaps evaluate-real --model default --out DIR [--config configs/real_sites.yaml]``.

Scores a model and the DSM-only baseline on every real site of the corpus config, site by
site, at 2, 5, 10 and 15 m (``evaluation/real_sites.py``); ``--doc`` writes the table
into that markdown's ``real-sites`` section, as ``evaluate-heldout`` does for its own.
``--folds N --train-config FILE`` scores held out instead: one model trained per fold of
sites, each site scored by the model that never saw its source
(``experiments/real_folds.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from forestgaps_engine.cli.common import add_config_options, add_thresholds_option, log_progress

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps evaluate-real`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate-real",
        help="score a model and the DSM-only baseline on each real site of the corpus "
        "(per-site IoU table, JSON + markdown)",
    )
    add_config_options(
        parser, "config listing the sites (default: configs/real_sites.yaml)",
        "override one config value, e.g. --set gaps.max_area_m2=1e9 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--model", help="model folder or 'default' (the default)")
    parser.add_argument("--out", default="out/real_sites/evaluation", help="output folder")
    add_thresholds_option(parser, "gap height threshold (repeatable; default 2, 5, 10 and 15 m)")
    parser.add_argument(
        "--site",
        dest="sites",
        action="append",
        default=[],
        help="score only this site (repeatable)",
    )
    parser.add_argument("--doc", help="also write the 'real-sites' section of this markdown")
    parser.add_argument(
        "--prior-model",
        metavar="MODEL",
        help="a model trained with a terrain prior, scored in the terrain-prior column with "
        "each site's ground averaged onto 30 m cells as its DEM",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        metavar="N",
        help="held-out scores: train --train-config once per fold of sites (one source "
        "never split) and score each site with the model trained without it",
    )
    parser.add_argument(
        "--train-config",
        metavar="FILE",
        help="with --folds: the training recipe (e.g. configs/pretrained_real.yaml)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``forestgaps evaluate-real`` from the parsed flags; return the exit code (0: done)."""
    from pathlib import Path

    from forestgaps_engine.config import load_config
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.evaluation.real_sites import (
        DEFAULT_CONFIG,
        THRESHOLDS_M,
        evaluate_real_sites,
    )

    config_path = Path(args.config) if args.config else DEFAULT_CONFIG
    if not config_path.is_file():
        raise ConfigError(
            f"--config {config_path}: file not found",
            hint="Pass --config with the YAML listing the real sites (configs/real_sites.yaml).",
        )
    config = load_config(config_path, args.overrides)
    thresholds_m = tuple(args.thresholds_m or THRESHOLDS_M)
    if args.folds or args.train_config:
        report = _run_folds(args, config, thresholds_m)
    else:
        report = evaluate_real_sites(
            args.model or "default", config, args.out, thresholds_m, doc=args.doc,
            site_names=tuple(args.sites), progress=log_progress, prior_model=args.prior_model,
        )  # fmt: skip
    sys.stdout.write(report.markdown)
    logger.info("written: %s and %s", report.json_path, report.out_dir / "real_sites.md")
    return 0


def _run_folds(args: argparse.Namespace, config: Any, thresholds_m: tuple) -> Any:
    """``--folds N --train-config FILE``: one model per fold, each site scored held out (its report)."""
    from pathlib import Path

    from forestgaps_engine.config import load_config
    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.experiments.real_folds import evaluate_real_folds

    if args.folds < 2 or not args.train_config:
        raise ConfigError(
            f"--folds {args.folds} --train-config {args.train_config}: held-out scores "
            "need both, with at least 2 folds",
            hint="Pass --folds 3 --train-config configs/pretrained_real.yaml.",
        )
    if args.sites or args.model or args.prior_model:
        raise ConfigError(
            "--folds trains its own models on every site: --model, --prior-model and --site "
            "do not apply",
            hint="Drop them, or drop --folds to score one model.",
        )
    train_path = Path(args.train_config)
    if not train_path.is_file():
        raise ConfigError(
            f"--train-config {train_path}: file not found",
            hint="Pass the training recipe, e.g. configs/pretrained_real.yaml.",
        )
    return evaluate_real_folds(
        load_config(train_path), config, args.folds, args.out, thresholds_m,
        doc=args.doc, progress=log_progress,
    )  # fmt: skip

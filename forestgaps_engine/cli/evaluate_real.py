"""``forestgaps evaluate-real --model default --out DIR [--config configs/real_sites.yaml]``.

Scores a model and the DSM-only baseline on every real site of the corpus config, site by
site, at 2, 5, 10 and 15 m (``evaluation/real_sites.py``); ``--doc`` writes the table
into that markdown's ``real-sites`` section, as ``evaluate-heldout`` does for its own.
"""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps evaluate-real`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate-real",
        help="score a model and the DSM-only baseline on each real site of the corpus "
        "(per-site IoU table, JSON + markdown)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config listing the sites (default: configs/real_sites.yaml)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. --set gaps.max_area_m2=1e9 (repeatable)",
    )
    parser.add_argument("--model", default="default", help="model folder or 'default'")
    parser.add_argument("--out", default="out/real_sites/evaluation", help="output folder")
    parser.add_argument(
        "--threshold",
        dest="thresholds_m",
        type=float,
        action="append",
        metavar="METRES",
        help="gap height threshold (repeatable; default 2, 5, 10 and 15 m)",
    )
    parser.add_argument(
        "--site",
        dest="sites",
        action="append",
        default=[],
        help="score only this site (repeatable)",
    )
    parser.add_argument("--doc", help="also write the 'real-sites' section of this markdown")
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

    def progress(fraction: float, message: str) -> None:
        logger.debug("%3.0f%% %s", 100 * fraction, message)

    report = evaluate_real_sites(
        args.model,
        config,
        args.out,
        tuple(args.thresholds_m or THRESHOLDS_M),
        doc=args.doc,
        site_names=tuple(args.sites),
        progress=progress,
    )
    sys.stdout.write(report.markdown)
    logger.info("written: %s and %s", report.json_path, report.out_dir / "real_sites.md")
    return 0

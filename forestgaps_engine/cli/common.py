"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

from forestgaps_engine.config import ForestGapsConfig, load_config


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` and repeatable ``--set key.path=value``."""
    parser.add_argument("--config", metavar="FILE", help="YAML config (default: built-in defaults)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, e.g. --set training.epochs=3 (repeatable)",
    )


def config_from_args(args: argparse.Namespace) -> ForestGapsConfig:
    """Load the config named by ``--config`` with the ``--set`` overrides applied."""
    return load_config(args.config, args.overrides)

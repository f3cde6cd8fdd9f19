"""``forestgaps config``: validate a config file and show the effective values."""

from __future__ import annotations

import argparse
import sys

import yaml

from forestgaps_engine.cli.common import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps config`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "config", help="validate a config (with --set overrides) and print the effective values"
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the validated config, overrides applied, as YAML on stdout; return 0."""
    config = config_from_args(args)
    sys.stdout.write(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    return 0

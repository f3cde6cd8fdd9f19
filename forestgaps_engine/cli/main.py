"""The ``forestgaps`` command: global options, then one subcommand group per engine module."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from forestgaps_engine.errors import ErrorHandler
from forestgaps_engine.log import LOG_FORMATS, setup_logging
from forestgaps_engine.version import __version__

NON_COMMAND_MODULES = {"common", "main"}


def command_modules() -> list[str]:
    """Every module of this package that registers subcommands (all but helpers).

    Each registers its own subcommands through ``register(subparsers)`` and imports heavy
    libraries (torch, rasterio) only inside its handlers, so ``--help`` stays fast.
    """
    package = importlib.import_module("forestgaps_engine.cli")
    return [
        f"forestgaps_engine.cli.{info.name}"
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name)
        if info.name not in NON_COMMAND_MODULES
    ]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by main and by docs/tests that check --help)."""
    parser = argparse.ArgumentParser(
        prog="forestgaps",
        description="ForestGaps: canopy gap detection from height rasters.",
    )
    parser.add_argument("--version", action="version", version=f"forestgaps {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show debug messages and full tracebacks"
    )
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, default="human", help="console log format"
    )
    parser.add_argument("--log-file", metavar="PATH", help="also write JSON log lines here")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (2 for user errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(
        level=logging.DEBUG if args.debug else logging.INFO,
        log_format=args.log_format,
        log_file=args.log_file,
    )
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        logging.getLogger(__name__).error("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the one place every error is reported
        return ErrorHandler().handle(error).exit_code


if __name__ == "__main__":
    sys.exit(main())

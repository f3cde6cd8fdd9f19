"""The ``forestgaps`` command: global options, then one subcommand group per engine module."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Sequence

from forestgaps_engine import partials
from forestgaps_engine.errors import ConfigError, DataError, ErrorHandler
from forestgaps_engine.files import refuse_overwriting_inputs
from forestgaps_engine.log import LOG_FORMATS, setup_logging
from forestgaps_engine.signals import exit_code_of, install_stop_handlers
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
    # First: a stop during the imports below must clean up like one during the run.
    install_stop_handlers()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.INFO
    clash = log_file_clash(args)
    if clash is not None:
        setup_logging(level=level, log_format=args.log_format)
        return ErrorHandler().handle(clash).exit_code
    try:
        setup_logging(level=level, log_format=args.log_format, log_file=args.log_file)
    except OSError as error:
        setup_logging(level=level, log_format=args.log_format)
        return ErrorHandler().handle(log_file_error(args.log_file, error)).exit_code
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt as interrupt:
        # The engine's cleanups have run; what a cleanup could not reach goes here.
        partials.remove_live()
        logging.getLogger(__name__).error("%s; temporary files removed", interrupt or "interrupted")
        return exit_code_of(interrupt)
    except Exception as error:  # noqa: BLE001 - the one place every error is reported
        return ErrorHandler().handle(error).exit_code


def log_file_error(log_file: str, error: OSError) -> ConfigError:
    """The user error for a ``--log-file`` that cannot be created or appended to."""
    reason = error.strerror or type(error).__name__
    return ConfigError(
        f"--log-file {log_file}: cannot be written ({reason})",
        hint="Pass --log-file a path in a folder you can write to, or leave it out.",
    )


def log_file_clash(args: argparse.Namespace) -> DataError | None:
    """The error for a ``--log-file`` that names an input file of the command, else None.

    Inputs: every string argument (or list item) naming an existing file.
    """
    if not args.log_file:
        return None
    inputs = []
    for name, value in vars(args).items():
        values = value if isinstance(value, list | tuple) else [value]
        if name != "log_file":
            inputs += [v for v in values if isinstance(v, str) and os.path.isfile(v)]
    try:
        refuse_overwriting_inputs(
            inputs, [args.log_file], hint="Pass --log-file a new file, e.g. run.log."
        )
    except DataError as error:
        return DataError(f"--log-file {error.message}", hint=error.hint)
    return None


if __name__ == "__main__":
    sys.exit(main())

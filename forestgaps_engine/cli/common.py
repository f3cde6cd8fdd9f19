"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from pydantic import ValidationError

from forestgaps_engine.config import ForestGapsConfig, load_config
from forestgaps_engine.errors import ConfigError


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


def options_error(
    error: ValidationError, flags: Mapping[str, str], command: str
) -> ConfigError:
    """One line naming the flags and values pydantic rejected, in the command's words.

    Args:
        error: what ``model_validate`` raised for the config section the flags fill.
        flags: config field name -> the flag that sets it (``"min_gap_area_m2": "--min-area"``).
        command: the subcommand, for the hint (``"predict"``).

    Returns:
        A ConfigError to raise ``from`` the validation error.
    """
    problems = []
    named: set[str] = set()
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        field = str(problem["loc"][-1]) if problem["loc"] else ""
        for name, flag in flags.items():
            if name in message:
                message = message.replace(name, flag)
                named.add(flag)
        if field in flags:
            named.add(flags[field])
            message = f"{flags[field]} {problem.get('input')!r}: {message}"
        problems.append(message)
    if {"--min-area", "--max-area"} <= named:
        hint = "Swap the two values: --min-area must be <= --max-area."
    elif {"--overlap", "--tile"} <= named:
        hint = "Lower --overlap below half of --tile, or raise --tile."
    else:
        hint = f"See forestgaps {command} --help for each option's range."
    return ConfigError(f"invalid {command} options: " + "; ".join(problems), hint=hint)

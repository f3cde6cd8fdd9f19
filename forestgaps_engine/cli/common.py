"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping

from pydantic import ValidationError

from forestgaps_engine.config import ForestGapsConfig, load_config
from forestgaps_engine.errors import ConfigError

logger = logging.getLogger(__name__)


def log_progress(fraction: float, message: str) -> None:
    """The CLI's ``progress`` callback: one debug line (``-v`` shows it) per report."""
    logger.debug("%3.0f%% %s", 100 * fraction, message)


def add_config_options(
    parser: argparse.ArgumentParser,
    config_help: str = "YAML config (default: built-in defaults)",
    set_help: str = "override one config value, e.g. --set training.epochs=3 (repeatable)",
    is_config_required: bool = False,
) -> None:
    """``--config FILE`` and repeatable ``--set key.path=value``."""
    parser.add_argument("--config", required=is_config_required, metavar="FILE", help=config_help)
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=set_help
    )


def add_thresholds_option(
    parser: argparse.ArgumentParser, help_text: str | None, is_required: bool = False
) -> None:
    """Repeatable ``--threshold METRES`` into ``args.thresholds_m``."""
    parser.add_argument(
        "--threshold", dest="thresholds_m", type=float, action="append", required=is_required,
        metavar="METRES", help=help_text,
    )  # fmt: skip


def add_area_options(
    parser: argparse.ArgumentParser,
    dests: tuple[str, str] = ("min_area_m2", "max_area_m2"),
    defaults_m2: tuple[float | None, float | None] = (1.0, 10000.0),
    helps: tuple[str | None, str | None] = (
        "smallest gap kept, m2 (inclusive; default 1)",
        "largest gap kept, m2 (inclusive; default 10000)",
    ),
) -> None:
    """``--min-area M2`` and ``--max-area M2``: the gap rule's area bounds."""
    for flag, dest, default_m2, help_text in zip(
        ("--min-area", "--max-area"), dests, defaults_m2, helps, strict=True
    ):
        parser.add_argument(
            flag, dest=dest, type=float, default=default_m2, metavar="M2", help=help_text
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

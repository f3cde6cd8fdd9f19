"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import logging
import typing
from collections.abc import Mapping

from pydantic import ValidationError

from forestgaps_engine.config import ForestGapsConfig, load_config
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import ConfigError

logger = logging.getLogger(__name__)

# Inference config field -> the flag that sets it, on every command that runs the model.
INFERENCE_FLAGS = {"device": "--device", "backend": "--backend", "tile_size_px": "--tile",
                   "overlap_px": "--overlap", "batch_size": "--batch",
                   "min_gap_area_m2": "--min-area", "max_gap_area_m2": "--max-area"}  # fmt: skip


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


def add_model_run_options(parser: argparse.ArgumentParser) -> None:
    """``--device``, ``--backend`` (the config's choices), ``--tile``, ``--overlap``, ``--batch``."""
    for name in ("device", "backend"):
        choices = typing.get_args(InferenceConfig.model_fields[name].annotation)
        parser.add_argument(f"--{name}", choices=choices, help=f"default: inference.{name}")
    for flag, dest, metavar, help_text in (
        ("--tile", "tile_size_px", "PX", "model window size in pixels"),
        ("--overlap", "overlap_px", "PX", "model window overlap in pixels"),
        ("--batch", "batch_size", "N", "model inputs per call"),
    ):
        parser.add_argument(flag, dest=dest, type=int, metavar=metavar, help=help_text)


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

"""``forestgaps model-info PATH``: print a model's card (what it is, what it was trained on)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps model-info`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "model-info", help="print the card of a model folder (architecture, thresholds, metrics)"
    )
    parser.add_argument("path", help="model folder, model_card.json, weights file, or 'default'")
    parser.add_argument("--json", action="store_true", help="print the card as JSON")
    parser.add_argument(
        "--check",
        action="store_true",
        help="also rebuild the network and load the weights (slower; needs torch)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print a model's card (loading the model first with ``--check``); return 0."""
    from forestgaps_engine.models.card import load_model, read_card, resolve_model_files

    if args.check:
        card = load_model(args.path).card
    else:
        card_file, _weights = resolve_model_files(args.path)
        card = read_card(card_file)
    if args.json:
        sys.stdout.write(card.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(card.describe() + "\n")
    return 0

"""``forestgaps train`` and ``forestgaps augment-preview``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from forestgaps_engine.cli.common import add_config_options, config_from_args
from forestgaps_engine.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps train`` and ``augment-preview`` subcommands to ``subparsers``."""
    parser = subparsers.add_parser(
        "train",
        help="train a model on a prepared dataset (checkpoints, TensorBoard, model folder)",
        description="Train config.model on the shards of 'forestgaps prepare'. Writes "
        "<training.output_dir>/checkpoints/{last,best}.pt, tensorboard/ and model/. "
        "Under torchrun every rank joins one data-parallel run.",
    )
    add_config_options(parser)
    parser.add_argument(
        "--prepared", metavar="DIR", help="prepared dataset (default: data.output_dir)"
    )
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints/last.pt")
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="N",
        help="trace N steps with torch.profiler into <training.output_dir>/tensorboard "
        "(training.monitoring.profile_steps)",
    )
    parser.set_defaults(handler=run_train)

    preview = subparsers.add_parser(
        "augment-preview",
        help="save a PNG grid of augmented versions of a DSM's centre tile",
    )
    add_config_options(preview)
    preview.add_argument("dsm", metavar="DSM.tif", help="DSM GeoTIFF (metres)")
    preview.add_argument("--out", required=True, metavar="PNG", help="image to write")
    preview.add_argument("--n", type=int, default=8, help="augmented panels (default 8)")
    preview.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    preview.add_argument(
        "--tile-size", type=int, default=None, help="crop side in px (default data.tile_size_px)"
    )
    preview.set_defaults(handler=run_preview)


def run_train(args: argparse.Namespace) -> int:
    """Train on the prepared shards and print where the model went; return 0."""
    from forestgaps_engine.training.api import train

    overrides = list(args.overrides)
    if args.profile is not None:
        overrides.append(f"training.monitoring.profile_steps={args.profile}")
    config = load_config(args.config, overrides)
    result = train(config, prepared_dir=args.prepared, resume=args.resume)
    if result.model_dir is not None:
        summary = {
            "model_dir": str(result.model_dir),
            "checkpoint_dir": str(result.checkpoint_dir),
            "epochs_run": result.epochs_run,
            "duration_s": round(result.duration_s, 1),
            "metrics": {k: round(v, 4) for k, v in result.metrics.items() if "_t" not in k},
        }
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # Under torchrun, interpreter teardown of torch's gloo threads intermittently aborted
        # a rank ("terminate called without an active exception") after the process group
        # was destroyed and every output written; skip that teardown so the launcher sees
        # the success that already happened.
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(0)
    return 0


def run_preview(args: argparse.Namespace) -> int:
    """Save a PNG grid of augmented versions of the DSM's centre tile; return 0."""
    from forestgaps_engine.training.preview import augment_preview

    config = config_from_args(args)
    path = augment_preview(
        args.dsm,
        args.out,
        config.training.augmentation,
        n_samples=args.n,
        seed=args.seed,
        tile_size_px=args.tile_size or config.data.tile_size_px,
    )
    sys.stdout.write(f"{path}\n")
    return 0

"""``forestgaps synth``: generate a synthetic forest and write its DSM, DTM and CHM."""

from __future__ import annotations

import argparse
import sys

from forestgaps_engine.cli.common import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps synth`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "synth",
        help="generate a synthetic forest (relief, stands, gaps, tracks) as dsm/dtm/chm.tif",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--size", type=int, metavar="PX", help="raster width and height in pixels (synth.size_px)"
    )
    parser.add_argument(
        "--resolution", type=float, metavar="M", help="cell size in metres (synth.resolution_m)"
    )
    parser.add_argument("--crs", metavar="CRS", help="projected CRS, e.g. EPSG:2154 (synth.crs)")
    parser.add_argument("--seed", type=int, help="the same seed gives the same forest (synth.seed)")
    parser.add_argument(
        "--nodata-holes",
        action="store_true",
        default=None,
        help="add irregular nodata patches (synth.nodata_holes)",
    )
    parser.add_argument(
        "--open-stand-share",
        type=float,
        metavar="P",
        help="probability that a stand is open woodland, 0-1 (synth.open_stand_share)",
    )
    parser.add_argument(
        "--origin",
        type=float,
        nargs=2,
        metavar=("X", "Y"),
        help="top-left corner in CRS units (default: drawn from the seed)",
    )
    add_config_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write a synthetic site (dsm/dtm/chm.tif) to ``--out``; return 0."""
    from forestgaps_engine.synth.forest import write_synthetic_site

    # Flags win over the config file; as overrides they get the config's validation.
    for flag, key in (
        ("size", "size_px"),
        ("resolution", "resolution_m"),
        ("crs", "crs"),
        ("seed", "seed"),
        ("nodata_holes", "nodata_holes"),
        ("open_stand_share", "open_stand_share"),
    ):
        value = getattr(args, flag)
        if value is not None:
            args.overrides.append(
                f"synth.{key}={str(value).lower() if isinstance(value, bool) else value}"
            )
    settings = config_from_args(args).synth
    paths = write_synthetic_site(
        args.out,
        size_px=settings.size_px,
        resolution_m=settings.resolution_m,
        crs=settings.crs,
        seed=settings.seed,
        nodata_holes=settings.nodata_holes,
        origin_xy=tuple(args.origin) if args.origin else None,
        open_stand_share=settings.open_stand_share,
    )
    sys.stdout.write("".join(f"{path}\n" for path in paths.values()))
    return 0

"""``forestgaps rasterize``: a LAS/LAZ point cloud to DSM, DTM and CHM GeoTIFFs."""

from __future__ import annotations

import argparse
import logging

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps rasterize`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "rasterize",
        help="turn a lidar point cloud (.las/.laz) into dsm.tif, dtm.tif and chm.tif",
        description=(
            "Rasterise a lidar point cloud onto a grid snapped to the resolution: highest "
            "return per cell (DSM), interpolated ground class 2 (DTM), and their difference "
            "(CHM, clipped at 0). Outputs are Cloud Optimized GeoTIFFs in metres."
        ),
    )
    parser.add_argument("cloud", metavar="CLOUD", help="input .las or .laz file")
    parser.add_argument(
        "--resolution",
        dest="resolution_m",
        type=float,
        default=1.0,
        metavar="METRES",
        help="cell size in metres (default: 1)",
    )
    parser.add_argument("--out", dest="out_dir", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--crs", default=None, metavar="EPSG:XXXX", help="CRS to use when the file has none"
    )
    parser.add_argument(
        "--normalized",
        choices=("chm", "raw"),
        default=None,
        help=(
            "chm: the cloud is height-normalised (z = height above ground), write chm.tif "
            "only; raw: skip the height-normalised detection"
        ),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Rasterize the point cloud to DSM, DTM and CHM GeoTIFFs and print their paths; return 0."""
    from forestgaps_engine.geo.lidar import rasterize_point_cloud

    outputs = rasterize_point_cloud(
        args.cloud,
        args.resolution_m,
        args.out_dir,
        crs=args.crs,
        normalized=args.normalized,
    )
    for name, path in outputs.items():
        logger.info("%s: %s", name, path)
    return 0

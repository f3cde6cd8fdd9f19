"""``forestgaps info``: versions, device and environment, for bug reports."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

from forestgaps_engine.version import __version__


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps info`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "info", help="show engine, torch and QGIS versions, device and environment"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def qgis_version() -> str:
    """QGIS version seen by this interpreter, asked in a subprocess (the engine never imports QGIS)."""
    probe = "from qgis.core import Qgis; print(Qgis.version())"
    try:
        completed = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    if completed.returncode != 0:
        return "not available"
    return completed.stdout.strip()


def collect_info() -> dict[str, str]:
    """Facts about this installation as plain strings."""
    from forestgaps_engine.environment import detect_environment

    info = {
        "forestgaps": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = "not installed"
    try:
        import rasterio

        info["rasterio"] = rasterio.__version__
        info["gdal"] = rasterio.__gdal_version__
    except ImportError:
        info["rasterio"] = "not installed"
    info["qgis"] = qgis_version()
    environment = detect_environment()
    info.update(environment.describe())
    info["device"] = environment.device().description
    return info


def run(args: argparse.Namespace) -> int:
    """Print the engine facts as aligned ``key  value`` lines, or JSON with ``--json``; return 0."""
    info = collect_info()
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
    else:
        width = max(len(key) for key in info)
        sys.stdout.write("".join(f"{key:<{width}}  {value}\n" for key, value in info.items()))
    return 0

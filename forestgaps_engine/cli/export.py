"""``forestgaps export MODEL --format onnx|torchscript|native|openvino_int8 --out PATH``.

``openvino_int8`` calibrates on synthetic forests and, unless ``--synthetic-only``, on the
real sites of ``--real-sites`` (default ``configs/real_sites.yaml``) whose data are present;
written as ``MODEL/model_int8.xml``, ``--backend openvino_int8`` and ``auto`` find it.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forestgaps export`` subcommand and its flags to ``subparsers``."""
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX, TorchScript or a clean model folder, checked against "
        "eager PyTorch",
    )
    parser.add_argument("model", help="model folder, model_card.json, weights file, or 'default'")
    parser.add_argument(
        "--format",
        choices=("onnx", "torchscript", "native", "openvino_int8"),
        default="onnx",
        dest="format",
    )
    parser.add_argument(
        "--real-sites",
        metavar="FILE",
        help="openvino_int8: corpus config whose real sites join the calibration windows "
        "(default: configs/real_sites.yaml)",
    )
    parser.add_argument(
        "--synthetic-only",
        action="store_true",
        help="openvino_int8: calibrate on synthetic forests only",
    )
    parser.add_argument("--out", required=True, metavar="PATH", help="file (or folder: native)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (17 or newer)")
    parser.add_argument(
        "--no-normalization",
        action="store_true",
        help="graph takes normalized heights instead of raw metres",
    )
    parser.add_argument(
        "--deepness",
        action="store_true",
        help="ONNX for the Deepness QGIS plugin: one input, threshold baked in, metadata keys",
    )
    parser.add_argument(
        "--threshold", type=float, metavar="METRES", help="gap threshold baked into the graph"
    )
    parser.add_argument("--tile-size", type=int, default=512, help="Deepness tile side, px")
    parser.add_argument("--overlap", type=int, default=64, help="Deepness tile overlap, px")
    parser.add_argument(
        "--no-check", action="store_true", help="keep the export even if parity exceeds 1e-4"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export the model in ``--format`` to ``--out`` and print what was checked; return 0."""
    from forestgaps_engine.models.export import export_model

    calibration = _int8_windows(args) if args.format == "openvino_int8" else None
    result = export_model(
        args.model,
        args.out,
        format=args.format,
        opset=args.opset,
        include_normalization=not args.no_normalization,
        deepness=args.deepness,
        fixed_threshold_m=args.threshold,
        tile_size_px=args.tile_size,
        overlap_px=args.overlap,
        check=not args.no_check,
        calibration=calibration,
    )
    sys.stdout.write(f"{result.path}\n")
    if calibration is not None:
        sources = calibration.sources
        real = (
            f"{sources['real']} real windows from {len(sources['real_sites'])} sites"
            if sources["real"]
            else "no real windows (synthetic only)"
        )
        sys.stdout.write(f"calibration: {sources['synthetic']} synthetic windows, {real}\n")
    if result.parity is not None and calibration is not None:
        sys.stdout.write(
            "parity (gap-mask IoU loss vs PyTorch fp32 on the calibration windows): "
            f"{result.parity['gap_iou_loss']:.4f}\n"
        )
    elif result.parity is not None:
        sys.stdout.write(
            f"parity (max abs difference vs eager PyTorch): {json.dumps(result.parity)}\n"
        )
    return 0


def _int8_windows(args: argparse.Namespace) -> object:
    """Calibration windows for ``--format openvino_int8``."""
    from pathlib import Path

    from forestgaps_engine.errors import ConfigError
    from forestgaps_engine.evaluation.real_sites import DEFAULT_CONFIG
    from forestgaps_engine.inference.int8 import calibration_windows
    from forestgaps_engine.inference.model_source import as_inference_model

    config = None
    if not args.synthetic_only:
        config = Path(args.real_sites) if args.real_sites else DEFAULT_CONFIG
        if not config.is_file():
            if args.real_sites:
                raise ConfigError(
                    f"--real-sites {config}: file not found",
                    hint="Pass the YAML listing the real sites, or --synthetic-only.",
                )
            config = None
    return calibration_windows(as_inference_model(args.model), config)

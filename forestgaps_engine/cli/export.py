"""``forestgaps export MODEL --format onnx|torchscript|native --out PATH``."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX, TorchScript or a clean model folder, checked against "
        "eager PyTorch",
    )
    parser.add_argument("model", help="model folder, model_card.json, weights file, or 'default'")
    parser.add_argument(
        "--format", choices=("onnx", "torchscript", "native"), default="onnx", dest="format"
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
    from forestgaps_engine.models.export import export_model

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
    )
    sys.stdout.write(f"{result.path}\n")
    if result.parity is not None:
        sys.stdout.write(
            f"parity (max abs difference vs eager PyTorch): {json.dumps(result.parity)}\n"
        )
    return 0

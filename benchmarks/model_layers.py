"""Where a model's own time goes, against this CPU's matmul peaks; prints one JSON object.

Measured in one run, side by side:

- matmul peaks: fp32, bf16 and int8 ``n``² GEMMs in OpenVINO (the runtime the model runs
  on; int8 as FakeQuantize -> MatMul, which OpenVINO runs as an int8 GEMM, AMX or VNNI
  where present), and fp32/bf16 in torch;
- the model in OpenVINO fp32, bf16 and int8 (``inference.int8``): output MPix/s, GFLOP/s
  (convolution and matmul FLOPs of the torch FLOP counter) and the share of each peak,
  and per-layer times (``PERF_COUNT``) grouped into the grey opening and relief, the
  U-Net trunk, the threshold head and the rest, with each group's GFLOP/s;
- cheap changes: tile size and windows per call (OpenVINO bf16 and int8), channels-last
  and conv + batch-norm folding in eager torch, the grey opening's square max as
  log-many dilated 3-tap pools (OpenVINO fp32 and bf16), each with its parity (gap-mask
  IoU loss against the unchanged model, the bar of ``--backend auto``).

Usage:
    python benchmarks/model_layers.py --model resources/models/default
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GROUPS = (("/relief/", "opening and relief"), ("/body/", "trunk (U-Net)"),
          ("/head", "threshold head"), ("/threshold_encoder/", "threshold encoder"))  # fmt: skip


def best_s(call: Any, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up, seconds."""
    call()
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def openvino_matmul_peaks(size: int, repeats: int) -> dict[str, float]:
    """fp32, bf16 and int8 GFLOP/s of a ``size``² GEMM in OpenVINO."""
    import openvino
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    weights = rng.normal(0, 1, (size, size)).astype(np.float32)
    activations = rng.normal(0, 1, (size, size)).astype(np.float32)

    def fake_quantize(node: Any, limit: float, levels: int) -> Any:
        low, high = np.float32(-limit), np.float32(limit)
        return ops.fake_quantize(node, low, high, low, high, levels)

    core = openvino.Core()
    peaks = {}
    for name in ("fp32", "bf16", "int8"):
        data = ops.parameter([size, size], openvino.Type.f32, name="x")
        left, right = data, ops.constant(weights)
        if name == "int8":
            left = fake_quantize(data, 4.0, 256)
            right = fake_quantize(right, float(np.abs(weights).max()), 255)
        model = openvino.Model([ops.matmul(left, right, False, False)], [data])
        hint = "bf16" if name == "bf16" else "f32"
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
        request = compiled.create_infer_request()
        elapsed_s = best_s(lambda request=request: request.infer([activations]), repeats)
        peaks[name] = round(2 * size**3 / elapsed_s / 1e9, 1)
    return peaks


def torch_matmul_peaks(size: int, repeats: int) -> dict[str, float]:
    import torch

    peaks = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
        peaks[name] = round(2 * size**3 / best_s(lambda a=a, b=b: a @ b, repeats) / 1e9, 1)
    return peaks


def inputs_for(model: Any, windows: int, tile_px: int, thresholds: list[float]) -> tuple:
    """Normalized windows of a synthetic forest and their (windows * K) thresholds."""
    from forestgaps_engine.synth.forest import generate_forest

    side = max(tile_px, 256) * 2
    dsm = generate_forest(side, model.card.resolution_m, "EPSG:2154", 3).dsm_m
    raw = np.stack([
        dsm[(i % 2) * (side - tile_px) :][:tile_px, ((i // 2) % 2) * (side - tile_px) :][
            :, :tile_px
        ]
        for i in range(windows)
    ])[:, None].astype(np.float32)  # fmt: skip
    valid = np.isfinite(raw)
    normalized = np.ascontiguousarray(model.normalizer(raw, valid), dtype=np.float32)
    per_window = np.asarray(thresholds, dtype=np.float32)
    return normalized, np.tile(per_window, windows), valid


def compile_variant(onnx_path: Path, int8_path: Path, variant: str, profile: bool = False) -> Any:
    import openvino

    core = openvino.Core()
    hint = "bf16" if variant == "bf16" else "f32"
    config = {"INFERENCE_PRECISION_HINT": hint}
    if profile:
        config["PERF_COUNT"] = True
    source = int8_path if variant == "int8" else onnx_path
    return core.compile_model(core.read_model(str(source)), "CPU", config)


def layer_profile(compiled: Any, feed: list[np.ndarray], group_flops: dict) -> dict:
    """Per-group milliseconds (sum of the executed nodes' real time) and GFLOP/s."""
    request = compiled.create_infer_request()
    request.infer(feed)
    request.infer(feed)
    by_group: dict[str, float] = defaultdict(float)
    by_type: dict[str, float] = defaultdict(float)
    kernels: dict[str, int] = defaultdict(int)
    for info in request.profiling_info:
        if info.status != info.Status.EXECUTED:
            continue
        ms = info.real_time.total_seconds() * 1e3
        by_group[group_of(info.node_name)] += ms
        by_type[info.node_type] += ms
        if info.node_type in ("Convolution", "FullyConnected", "MatMul"):
            kernels[info.exec_type] += 1
    total_ms = sum(by_group.values())
    groups = {}
    for name, ms in sorted(by_group.items(), key=lambda item: -item[1]):
        flops = group_flops.get(name, 0.0)
        groups[name] = {
            "ms": round(ms, 2),
            "share": round(ms / total_ms, 4),
            "gflop": round(flops / 1e9, 3),
            "gflops_per_s": round(flops / 1e9 / (ms / 1e3), 1) if flops else None,
        }
    top_types = sorted(by_type.items(), key=lambda item: -item[1])[:8]
    return {
        "total_ms": round(total_ms, 2),
        "groups": groups,
        "node_types_ms": {name: round(ms, 2) for name, ms in top_types},
        "conv_kernels": dict(kernels),
    }


def group_of(node_name: str) -> str:
    for marker, name in GROUPS:
        if marker in node_name:
            return name
    return "other (margin, upsampling, sigmoid inputs)"


def conv_flops_by_group(onnx_path: Path, shapes: dict[str, list[int]]) -> dict[str, float]:
    """Convolution and matmul FLOPs (2 per MAC) per group of the graph at these shapes."""
    import openvino

    model = openvino.Core().read_model(str(onnx_path))
    model.reshape(shapes)
    flops: dict[str, float] = defaultdict(float)
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Convolution":
            out = list(op.get_output_shape(0))
            weights = list(op.get_input_shape(1))
            macs = np.prod(out) * np.prod(weights[1:])
        elif kind == "MatMul":
            a, out = list(op.get_input_shape(0)), list(op.get_output_shape(0))
            macs = np.prod(out) * a[-1]
        else:
            continue
        flops[group_of(op.get_friendly_name())] += 2.0 * float(macs)
    return dict(flops)


def mpix_per_s(compiled: Any, feed: list[np.ndarray], repeats: int) -> float:
    request = compiled.create_infer_request()
    n_output_px = feed[1].size * feed[0].shape[2] * feed[0].shape[3]
    return n_output_px / 1e6 / best_s(lambda: request.infer(feed), repeats)


def iou_loss(reference: np.ndarray, other: np.ndarray) -> float:
    union = np.logical_or(reference, other).sum()
    return float(1 - np.logical_and(reference, other).sum() / union) if union else 0.0


def torch_variants(loaded: Any, feed: list[np.ndarray], valid: np.ndarray, repeats: int) -> dict:
    """Eager torch as shipped, channels-last, and with conv + batch-norm folded (torch.fx)."""
    import copy

    import torch

    dsm, thresholds = (torch.from_numpy(a) for a in feed)
    mask_valid = np.repeat(valid, len(feed[1]) // len(feed[0]), axis=0)
    base = loaded.model.eval()
    results: dict[str, Any] = {}
    with torch.inference_mode():
        reference = base(dsm, thresholds).numpy()
        n_px = feed[1].size * dsm.shape[2] * dsm.shape[3]

        def measure(name: str, module: Any, inputs: Any) -> None:
            elapsed_s = best_s(lambda: module(inputs, thresholds), repeats)
            logits = module(inputs, thresholds).float().contiguous().numpy()
            results[name] = {
                "mpix_per_s": round(n_px / 1e6 / elapsed_s, 3),
                "max_abs_logit_diff": round(float(np.abs(logits - reference).max()), 6),
                "gap_iou_loss": round(iou_loss((reference >= 0) & mask_valid,
                                               (logits >= 0) & mask_valid), 6),  # fmt: skip
            }

        measure("torch_fp32", base, dsm)
        channels_last = copy.deepcopy(base).to(memory_format=torch.channels_last)
        measure("torch_fp32_channels_last", channels_last,
                dsm.contiguous(memory_format=torch.channels_last))  # fmt: skip
        try:
            from torch.fx.experimental.optimization import fuse

            measure("torch_fp32_conv_bn_folded", fuse(copy.deepcopy(base)), dsm)
        except Exception as error:  # noqa: BLE001 - fx tracing fails on data-dependent code
            results["torch_fp32_conv_bn_folded"] = {"error": f"{type(error).__name__}: {error}"}
    return results


def max_square_log_passes(x: Any, size_px: int) -> Any:
    """The grey opening's square max as 3-tap dilated pools: the covered radius grows 1, 2,
    4, ... so a 41-cell side takes 10 compares per axis instead of 40 (same values: a max
    over overlapping shifted windows; -inf padding keeps edge windows to their cells)."""
    import torch.nn.functional as F  # noqa: N812 - the conventional alias

    half = size_px // 2
    for horizontal in (True, False):
        covered = 0
        while covered < half:
            step = min(covered + 1, half - covered)
            # torch caps a pool's padding at half its kernel: -inf borders are padded here.
            pad, kernel, dilation = ((step, step, 0, 0), (1, 3), (1, step)) if horizontal else (
                (0, 0, step, step), (3, 1), (step, 1))  # fmt: skip
            x = F.max_pool2d(F.pad(x, pad, value=float("-inf")), kernel, 1, 0, dilation)
            covered += step
    return x


def opening_variant(loaded: Any, onnx_path: Path, feed: list[np.ndarray], valid: np.ndarray,
                    repeats: int) -> dict[str, Any]:  # fmt: skip
    """The model exported with ``max_square_log_passes`` against the shipped graph."""
    from unittest import mock

    import openvino

    from forestgaps_engine.models.blocks import ground
    from forestgaps_engine.models.export.onnx import export_logits_onnx

    with tempfile.TemporaryDirectory(prefix="forestgaps-opening-") as folder, mock.patch.object(
        ground, "_max_square", max_square_log_passes
    ):
        variant_path = export_logits_onnx(loaded.model, Path(folder) / "opening.onnx")
        variant_graph = openvino.Core().read_model(str(variant_path))
    core = openvino.Core()
    k = len(feed[1]) // len(feed[0])
    mask_valid = np.repeat(valid, k, axis=0)
    result: dict[str, Any] = {}
    for hint in ("f32", "bf16"):
        config = {"INFERENCE_PRECISION_HINT": hint}
        shipped = core.compile_model(str(onnx_path), "CPU", config)
        variant = core.compile_model(variant_graph, "CPU", config)
        before, after = np.array(shipped(feed)[0]), np.array(variant(feed)[0])
        result[hint] = {
            "shipped_mpix_per_s": round(mpix_per_s(shipped, feed, repeats), 3),
            "log_passes_mpix_per_s": round(mpix_per_s(variant, feed, repeats), 3),
            "max_abs_logit_diff": round(float(np.abs(before - after).max()), 6),
            "gap_iou_loss": round(iou_loss((before >= 0) & mask_valid,
                                           (after >= 0) & mask_valid), 6),  # fmt: skip
        }
    return result


def main() -> None:
    from forestgaps_engine.machine import cpu_description

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/models/default")
    parser.add_argument("--thresholds", default="2,5,10")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--windows", type=int, default=2, help="windows per call")
    parser.add_argument("--tiles", default="256,512,1024", help="tile sweep, px")
    parser.add_argument("--windows-sweep", default="1,2,4", help="windows per call sweep")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("FORESTGAPS_CACHE_DIR"):
        # A fresh cache: the int8 IR is quantised here, not taken from an earlier run.
        os.environ["FORESTGAPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="forestgaps-layers-")

    from forestgaps_engine.inference.backends import onnx_path_for
    from forestgaps_engine.inference.int8 import int8_path, int8_record
    from forestgaps_engine.inference.model_source import as_inference_model
    from forestgaps_engine.models.card import load_model
    from forestgaps_engine.models.summary import gflops_per_tile

    thresholds = [float(t) for t in args.thresholds.split(",")]
    loaded = load_model(args.model)
    model = as_inference_model(loaded)
    onnx_path = onnx_path_for(loaded)
    int8_xml = int8_path(model)
    k = len(thresholds)
    gflop_per_mpix = gflops_per_tile(loaded.model, 256, k) / (k * 256 * 256 / 1e6)
    report: dict[str, Any] = {
        **cpu_description(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "model": {"id": loaded.card.model_id, "architecture": loaded.card.architecture,
                  "gflop_per_output_mpix": round(gflop_per_mpix, 3),
                  "int8": {key: value for key, value in (int8_record(int8_xml) or {}).items()
                           if key in ("gap_iou_loss", "int8_layers", "sources")}},
        "matmul_peak_gflops": {
            "openvino": openvino_matmul_peaks(args.matmul_size, args.repeats),
            "torch": torch_matmul_peaks(args.matmul_size, args.repeats),
            "size": args.matmul_size,
        },
        "thresholds_m": thresholds,
    }  # fmt: skip
    peaks = report["matmul_peak_gflops"]["openvino"]
    dsm, thresholds_feed, valid = inputs_for(model, args.windows, args.tile, thresholds)
    feed = [dsm, thresholds_feed]
    shapes = {"dsm": list(dsm.shape), "threshold_m": list(thresholds_feed.shape)}
    group_flops = conv_flops_by_group(onnx_path, shapes)
    runs = {}
    reference = None
    for variant in ("fp32", "bf16", "int8"):
        compiled = compile_variant(onnx_path, int8_xml, variant)
        logits = np.array(compiled(feed)[0])
        mask_valid = np.repeat(valid, k, axis=0)
        reference = (logits >= 0) & mask_valid if reference is None else reference
        speed = mpix_per_s(compiled, feed, args.repeats)
        runs[variant] = {
            "mpix_per_s": round(speed, 3),
            "gflops_per_s": round(speed * gflop_per_mpix, 1),
            "share_of_matmul_peak": round(speed * gflop_per_mpix / peaks[variant], 4),
            "gap_iou_loss_vs_fp32": round(iou_loss(reference, (logits >= 0) & mask_valid), 6),
            "profile": layer_profile(
                compile_variant(onnx_path, int8_xml, variant, profile=True), feed, group_flops
            ),
        }
    report["openvino"] = {"tile_px": args.tile, "windows_per_call": args.windows, **runs}
    sweep = {}
    for variant in ("bf16", "int8"):
        compiled = compile_variant(onnx_path, int8_xml, variant)
        for tile_px in [int(t) for t in args.tiles.split(",")]:
            for windows in [int(w) for w in args.windows_sweep.split(",")]:
                sweep_feed = list(inputs_for(model, windows, tile_px, thresholds)[:2])
                key = f"{variant} {tile_px}px x{windows}"
                sweep[key] = round(mpix_per_s(compiled, sweep_feed, args.repeats), 3)
    report["tile_and_batch_sweep_mpix_per_s"] = sweep
    report["torch_eager"] = torch_variants(loaded, feed, valid, args.repeats)
    report["opening_log_passes"] = opening_variant(loaded, onnx_path, feed, valid, args.repeats)
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Export cost and fidelity per architecture; prints one JSON object.

For each registered model at its default parameters (random weights): seconds to export
to ONNX and TorchScript (parity check included), file sizes, max abs probability
difference to eager PyTorch, and the seconds per tile of eager torch, ONNX Runtime and
TorchScript on a raw-DSM tile (CPU, one thread count as configured by torch/ORT).

Usage:
    python benchmarks/export.py --tile 256 --repeats 5
    python benchmarks/export.py --models unet,unet_film
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _seconds_per_call(call, repeats: int) -> float:  # noqa: ANN001 - any callable
    call()  # warm-up: first calls allocate and specialise
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def bench_model(name: str, folder: Path, tile_px: int, repeats: int) -> dict:
    """Figures for one architecture."""
    import numpy as np
    import onnxruntime
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, load_model, save_model
    from forestgaps_engine.models.export import GraphSpec, export_model, load_torchscript
    from forestgaps_engine.models.export.graph import build_graph
    from forestgaps_engine.models.export.parity import random_inputs
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model_dir = save_model(
        create(name),
        Normalizer("robust_percentile", {"relief_range_m": 30.0}),
        ModelCard(threshold_range_m=(2.0, 20.0)),
        folder / name,
    )
    loaded = load_model(model_dir)
    figures: dict = {"model": name}
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt")):
        start = time.perf_counter()
        result = export_model(loaded, folder / f"{name}{suffix}", format=fmt)
        figures[f"{fmt}_export_s"] = round(time.perf_counter() - start, 2)
        figures[f"{fmt}_size_mb"] = round(result.path.stat().st_size / 1e6, 2)
        figures[f"{fmt}_max_abs_diff"] = result.max_abs_diff

    spec = GraphSpec()
    inputs = random_inputs(spec, 1, tile_px, tile_px, loaded.card)
    tensors = [torch.from_numpy(array) for array in inputs]
    graph = build_graph(loaded, spec)
    session = onnxruntime.InferenceSession(
        str(folder / f"{name}.onnx"), providers=["CPUExecutionProvider"]
    )
    feed = dict(zip(spec.input_names, inputs, strict=True))
    module, _card, _spec = load_torchscript(folder / f"{name}.pt")
    with torch.no_grad():
        figures["eager_s_per_tile"] = round(_seconds_per_call(lambda: graph(*tensors), repeats), 4)
        figures["torchscript_s_per_tile"] = round(
            _seconds_per_call(lambda: module(*tensors), repeats), 4
        )
    figures["onnxruntime_s_per_tile"] = round(
        _seconds_per_call(lambda: session.run(None, feed), repeats), 4
    )
    figures["tile_px"] = tile_px
    assert np.isfinite(figures["onnx_max_abs_diff"])
    return figures


def main() -> None:
    """Parse arguments, run every model, print JSON."""
    from forestgaps_engine.models import available_models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=256, help="tile side for timings, px")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n] or available_models()
    with tempfile.TemporaryDirectory() as temp:
        rows = [bench_model(name, Path(temp), args.tile, args.repeats) for name in names]
    print(json.dumps({"benchmark": "export", "results": rows}, indent=2))


if __name__ == "__main__":
    main()

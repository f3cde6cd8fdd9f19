"""Benchmark every registered model on CPU: params, GFLOPs, ms and MPix/s per tile (JSON).

Usage: ``.venv/bin/python benchmarks/models.py [--tile-size-px 256] [--repeats 10]
[--threads N] [--models unet mobile_unet]``. Forward passes at batch 1 under
``torch.inference_mode``; latency is the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

from forestgaps_engine.models import available_models
from forestgaps_engine.models.summary import (
    count_parameters,
    cpu_ms_per_tile,
    gflops_per_tile,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-size-px", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--models", nargs="*", default=None, help="default: all registered")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from forestgaps_engine.models import create

    results = []
    for name in args.models or available_models():
        torch.manual_seed(0)
        model = create(name).eval()
        ms = cpu_ms_per_tile(model, args.tile_size_px, args.repeats)
        results.append(
            {
                "model": name,
                "params": count_parameters(model),
                "gflops_per_tile": round(gflops_per_tile(model, args.tile_size_px), 3),
                "cpu_ms_per_tile": round(ms, 2),
                "mpix_per_s": round(args.tile_size_px**2 / (ms / 1000.0) / 1e6, 3),
            }
        )
    report = {
        "tile_size_px": args.tile_size_px,
        "batch_size": 1,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "flops_convention": "1 multiply-accumulate = 2 FLOPs (torch FlopCounterMode)",
        "models": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Inference throughput and memory; prints one JSON object.

Figures: end-to-end MPix/s of ``predict`` and model-only MPix/s per backend on a synthetic
DSM, the overlap overhead (pixels computed / pixels output), and peak RSS of ``predict``
at several raster sizes (one fresh process per size).

Usage:
    python benchmarks/inference.py --size 1024 --rss-sizes 1024,2048
    python benchmarks/inference.py --model path/to/model --size 4096
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forestgaps_engine.config.inference import InferenceConfig  # noqa: E402


def synthetic_dsm(path: Path, size_px: int, seed: int = 0) -> Path:
    """A size x size DSM (1 m, EPSG:2154): undulating canopy on a plateau, round gaps."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(seed)
    rows = np.arange(size_px, dtype=np.float32)[:, None]
    cols = np.arange(size_px, dtype=np.float32)[None, :]
    heights = 220.0 + 5.0 * np.sin(rows / 6.0) * np.cos(cols / 8.0)
    heights = heights + rng.normal(0, 0.5, (size_px, size_px)).astype(np.float32)
    for _ in range(size_px // 16):
        r, c = rng.integers(0, size_px, 2)
        radius = int(rng.integers(3, 12))
        r0, r1, c0, c1 = max(0, r - radius), r + radius, max(0, c - radius), c + radius
        heights[r0:r1, c0:c1] = 202.0
    with rasterio.open(
        path, "w", driver="GTiff", width=size_px, height=size_px, count=1, dtype="float32",
        crs="EPSG:2154", transform=Affine(1, 0, 650000, 0, -1, 6860000), nodata=-9999.0,
        tiled=True, blockxsize=256, blockysize=256, compress="deflate",
    ) as dataset:  # fmt: skip
        dataset.write(heights.astype(np.float32), 1)
    return path


def benchmark_model(folder: Path, arch: str, base_channels: int) -> Path:
    """A random-init model folder (throughput does not depend on the weights' values)."""
    import torch

    from forestgaps_engine.data.normalization import Normalizer
    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model

    torch.manual_seed(0)
    model = create(arch, base_channels=base_channels)
    card = ModelCard(thresholds_m=[2, 5, 10], threshold_range_m=(2, 20), resolution_m=1.0)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, folder)


def model_only(
    loaded: object, backend_name: str, tile_px: int, n_inputs: int, repeats: int
) -> float:
    """MPix/s of the backend alone on (n_inputs, 1, tile, tile) batches."""
    from forestgaps_engine.inference.backends import create_backend

    backend = create_backend(loaded, backend_name, "auto")
    rng = np.random.default_rng(0)
    dsm = rng.normal(0, 0.3, (n_inputs, 1, tile_px, tile_px)).astype(np.float32)
    thresholds = np.full(n_inputs, 5.0, dtype=np.float32)
    backend.run(dsm, thresholds)  # warm-up (allocations, lazy init)
    started = time.perf_counter()
    for _ in range(repeats):
        backend.run(dsm, thresholds)
    return n_inputs * tile_px * tile_px * repeats / 1e6 / (time.perf_counter() - started)


def current_rss_mb() -> float:
    """Resident memory of this process now (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(size_px: int, model: str, config_json: str, thresholds: list[float]) -> None:
    """Run predict once in this process and print its peak RSS."""
    from forestgaps_engine.inference import predict

    with tempfile.TemporaryDirectory() as folder:
        dsm = synthetic_dsm(Path(folder) / "dsm.tif", size_px)
        config = InferenceConfig.model_validate_json(config_json)
        before_mb = current_rss_mb()
        result = predict(dsm, thresholds, model, Path(folder) / "out", config)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "size_px": size_px,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_before_predict_mb": round(before_mb, 1),
        "mpix_per_s": result.summary["mpix_per_s"],
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="DSM side for throughput, px")
    parser.add_argument("--rss-sizes", default="1024,4096", help="comma-separated DSM sides")
    parser.add_argument("--model", help="model folder (default: a random-init --arch)")
    parser.add_argument("--arch", default="unet_film_cbam")
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument("--backends", default="torch,onnxruntime")
    parser.add_argument("--thresholds", default="2,5,10")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    if args.rss_child:
        rss_child(args.rss_child, args.model, args.config_json, thresholds)
        return

    from forestgaps_engine.inference import predict
    from forestgaps_engine.inference.windows import computed_pixel_ratio
    from forestgaps_engine.models.card import load_model

    work = Path(tempfile.mkdtemp(prefix="forestgaps-bench-"))
    os.environ.setdefault("FORESTGAPS_CACHE_DIR", str(work / "cache"))
    model_path = (
        Path(args.model)
        if args.model
        else benchmark_model(work / "model", args.arch, args.base_channels)
    )
    loaded = load_model(model_path)
    dsm = synthetic_dsm(work / "dsm.tif", args.size)
    config = InferenceConfig(tile_size_px=args.tile, overlap_px=args.overlap, batch_size=args.batch)
    report: dict[str, object] = {
        "model": {"architecture": loaded.card.architecture, "params": loaded.card.params},
        "size_px": args.size,
        "thresholds_m": thresholds,
        "tile_size_px": args.tile,
        "overlap_px": args.overlap,
        "batch_size": args.batch,
        "overlap_overhead": round(
            computed_pixel_ratio(args.size, args.size, args.tile, args.overlap), 4
        ),
        "cpu_count": os.cpu_count(),
        "backends": {},
    }
    for backend in [name for name in args.backends.split(",") if name]:
        backend_config = config.model_copy(update={"backend": backend})
        result = predict(dsm, thresholds, loaded, work / f"out_{backend}", backend_config)
        report["backends"][backend] = {
            "device": result.summary["device"],
            "end_to_end_mpix_per_s": result.summary["mpix_per_s"],
            "model_only_mpix_per_s": round(
                model_only(loaded, backend, args.tile, args.batch, repeats=3), 4
            ),
            "timings_s": result.summary["timings_s"],
        }
    rss = []
    for size in [int(s) for s in args.rss_sizes.split(",") if s]:
        completed = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(size), "--model", str(model_path),
             "--config-json", config.model_dump_json(), "--thresholds", args.thresholds],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rss.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    report["peak_rss"] = rss
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

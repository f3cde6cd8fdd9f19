"""Region mode figures: throughput at 1 and 2 Dask workers, overhead against one ``predict``
on the same mosaic, peak RSS per worker, and a paper estimate for a national-scale region.

A synthetic forest (``synth.forest``, 1 m, EPSG:2154) is written whole and cut into
tiles; ``predict`` runs on the whole raster, ``region`` on the tiles (a LocalCluster of
worker processes started here, so their peak RSS can be read). Prints JSON.

    .venv/bin/python benchmarks/region.py --size 768 --tile-px 256 --block-size 512
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forestgaps_engine.config.inference import InferenceConfig  # noqa: E402
from forestgaps_engine.machine import cpu_name  # noqa: E402

# The estimate's region: 1 000 tiles of 1 km² at 0.5 m (IGN LiDAR HD), 100 workers.
ESTIMATE_TILES, ESTIMATE_TILE_PX, ESTIMATE_WORKERS = 1000, 2000, 100


def write_region(folder: Path, size_px: int, tile_px: int) -> Path:
    """Write the whole DSM and its tiles; returns the whole DSM's path."""
    import rasterio
    from affine import Affine

    from forestgaps_engine.synth.forest import generate_forest

    dsm = generate_forest(size_px, 1.0, "EPSG:2154", 9500).dsm_m.astype(np.float32)
    left, top = 650000.0, 6860000.0

    def write(path: Path, values: np.ndarray, col: int, row: int) -> None:
        transform = Affine(1.0, 0, left + col, 0, -1.0, top - row)
        with rasterio.open(path, "w", driver="GTiff", height=values.shape[0],
                           width=values.shape[1], count=1, dtype="float32", crs="EPSG:2154",
                           transform=transform, nodata=-9999.0) as dataset:  # fmt: skip
            dataset.write(values, 1)

    (folder / "tiles").mkdir(parents=True)
    for row in range(0, size_px, tile_px):
        for col in range(0, size_px, tile_px):
            piece = dsm[row : row + tile_px, col : col + tile_px]
            write(folder / "tiles" / f"tile_{row}_{col}.tif", piece, col, row)
    write(folder / "whole.tif", dsm, 0, 0)
    return folder / "whole.tif"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_region(folder: Path, out: Path, n_workers: int, config: InferenceConfig,
               block_size_px: int, threshold_m: float) -> dict:  # fmt: skip
    from distributed import Client, LocalCluster

    from forestgaps_engine.region.run import RegionSettings, region

    settings = RegionSettings(config=config, block_size_px=block_size_px)
    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                     dashboard_address=":0") as cluster,  # fmt: skip
        Client(cluster) as client,
    ):
        started = time.perf_counter()
        result = region([folder / "tiles"], [threshold_m], out, settings,
                        scheduler=cluster.scheduler_address)  # fmt: skip
        wall_s = time.perf_counter() - started
        peaks = client.run(_peak_rss_mb)
    summary = result.summary
    return {
        "n_workers": n_workers,
        "wall_s": round(wall_s, 2),
        "timings_s": summary["timings_s"],
        "n_blocks": summary["n_blocks"],
        "mosaic_px": summary["mosaic_px"],
        "peak_rss_mb_per_worker": sorted(round(value, 1) for value in peaks.values()),
        "block_memory_mb": round(summary["block_memory_bytes"] / 2**20, 1),
        "n_gaps": summary["thresholds"][0]["n_gaps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=768, help="mosaic side, px")
    parser.add_argument("--tile-px", type=int, default=256, help="input tile side, px")
    parser.add_argument("--block-size", type=int, default=512, help="region block side, px")
    parser.add_argument("--threshold", type=float, default=5.0)
    args = parser.parse_args()
    from forestgaps_engine.inference import predict

    config = InferenceConfig(device="cpu", backend="torch")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        whole = write_region(folder, args.size, args.tile_px)
        started = time.perf_counter()
        single = predict(whole, [args.threshold], "default", folder / "predict", config)
        predict_s = time.perf_counter() - started
        runs = [run_region(folder, folder / f"region_{n}", n, config, args.block_size,
                           args.threshold) for n in (1, 2)]  # fmt: skip
    mpx = args.size**2 / 1e6
    one = runs[0]
    # Per-block cost measured at one worker (pass 1 and 2 wall / blocks), scaled by cells.
    block_s = (one["timings_s"]["blocks"] + one["timings_s"]["finish"]) / one["n_blocks"]
    block_mpx = mpx / one["n_blocks"]
    region_mpx = ESTIMATE_TILES * ESTIMATE_TILE_PX**2 / 1e6
    n_blocks = math.ceil(region_mpx / (2048**2 / 1e6))
    per_2048_block_s = block_s * (2048**2 / 1e6) / block_mpx
    waves = math.ceil(n_blocks / ESTIMATE_WORKERS)
    outputs_s_per_mpx = one["timings_s"]["outputs"] / mpx
    figures = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "mosaic_px": args.size,
        "tiles": (args.size // args.tile_px) ** 2,
        "block_size_px": args.block_size,
        "predict_s": round(predict_s, 2),
        "predict_n_gaps": single.thresholds[0].n_gaps,
        "runs": runs,
        "throughput_mpx_per_s": {str(run["n_workers"]): round(mpx / run["wall_s"], 4)
                                 for run in runs},  # fmt: skip
        "overhead_vs_predict_1_worker": round(one["wall_s"] / predict_s, 2),
        "estimate": {
            "region": f"{ESTIMATE_TILES} tiles of {ESTIMATE_TILE_PX}² px (1 km² at 0.5 m)",
            "workers": ESTIMATE_WORKERS,
            "blocks_2048": n_blocks,
            "seconds_per_2048_block": round(per_2048_block_s, 1),
            "blocks_hours": round(waves * per_2048_block_s / 3600, 2),
            # The COGs and the gap layer are assembled by one process.
            "outputs_hours_one_process": round(outputs_s_per_mpx * region_mpx / 3600, 2),
        },
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

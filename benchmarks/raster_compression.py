"""Write/read time and size of 2048² GeoTIFFs (probabilities, gap ids) per compression; JSON.

Why ``geo/raster_io.py`` writes deflate at level 1:

    python benchmarks/raster_compression.py --size 2048
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

SETTINGS = {
    "deflate_6": {"compress": "deflate"},
    "deflate_1": {"compress": "deflate", "zlevel": 1},
    "zstd_1": {"compress": "zstd", "zstd_level": 1},
    "lzw": {"compress": "lzw"},
    "none": {},
}


def arrays(size_px: int) -> dict[str, tuple[np.ndarray, int]]:
    """A smooth-ish probability field and sparse gap ids, with their TIFF predictors."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, (size_px, size_px)).cumsum(axis=1) / 30.0
    probability = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    ids = (rng.random((size_px, size_px)) > 0.7) * rng.integers(1, 5000, (size_px, size_px))
    return {"probability": (probability, 3), "gap_ids": (ids.astype(np.int32), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    import rasterio
    from rasterio.transform import from_origin

    report: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as work:
        for name, (array, predictor) in arrays(args.size).items():
            report[name] = {}
            for label, options in SETTINGS.items():
                path = Path(work) / f"{name}_{label}.tif"
                extra = {"predictor": predictor, **options} if options else {}
                started = time.perf_counter()
                with rasterio.open(
                    path, "w", driver="GTiff", height=args.size, width=args.size, count=1,
                    dtype=array.dtype, crs="EPSG:2154", transform=from_origin(0, 0, 1, 1),
                    tiled=True, blockxsize=256, blockysize=256, **extra,
                ) as dataset:  # fmt: skip
                    dataset.write(array, 1)
                write_s = time.perf_counter() - started
                started = time.perf_counter()
                with rasterio.open(path) as dataset:
                    dataset.read(1)
                report[name][label] = {
                    "write_s": round(write_s, 4),
                    "read_s": round(time.perf_counter() - started, 4),
                    "mb": round(os.path.getsize(path) / 1e6, 2),
                }
    print(json.dumps({"size_px": args.size, "results": report}, indent=2))


if __name__ == "__main__":
    main()

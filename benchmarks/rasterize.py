"""Time and peak memory of point cloud rasterisation on the real lidR clouds; prints JSON.

Usage: python benchmarks/rasterize.py [DATA_DIR] (default: ../shared/data).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from shared_data import SHARED_DATA

from forestgaps_engine.geo.lidar import rasterize_point_cloud

DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED_DATA
RUNS = [
    ("Topography.laz", 1.0, None),
    ("Topography.laz", 0.5, None),
    ("MixedConifer.laz", 0.5, "chm"),
]


def main() -> None:
    results = []
    for name, resolution_m, normalized in RUNS:
        with tempfile.TemporaryDirectory() as out_dir:
            start = time.perf_counter()
            outputs = rasterize_point_cloud(
                DATA / name, resolution_m, out_dir, normalized=normalized
            )
            duration_s = time.perf_counter() - start
            sizes = {key: path.stat().st_size for key, path in outputs.items()}
        results.append(
            {
                "cloud": name,
                "resolution_m": resolution_m,
                "normalized": normalized,
                "duration_s": round(duration_s, 3),
                "output_bytes": sizes,
            }
        )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"runs": results, "peak_rss_mb": round(peak_rss_mb, 1)}, indent=2))


if __name__ == "__main__":
    main()

"""Seconds to generate synthetic forests of 256^2, 1024^2 and 4096^2 cells at 1 m; prints JSON.

Run: .venv/bin/python benchmarks/synth.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from forestgaps_engine.machine import cpu_name
from forestgaps_engine.synth.forest import generate_forest

SIZES_PX = (256, 1024, 4096)


def best_time_s(size_px: int, repeats: int) -> float:
    """Fastest of ``repeats`` runs (the machine may be shared), seeds 0..repeats-1."""
    durations = []
    for seed in range(repeats):
        start = time.perf_counter()
        generate_forest(size_px, resolution_m=1.0, seed=seed)
        durations.append(time.perf_counter() - start)
    return min(durations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    generate_forest(64)  # imports and FFT plans out of the timings
    results = {
        f"{size}x{size}_s": round(best_time_s(size, args.repeats if size < 4096 else 1), 3)
        for size in SIZES_PX
    }
    print(
        json.dumps(
            {
                "benchmark": "synth.generate_forest",
                "resolution_m": 1.0,
                "cpu_count": os.cpu_count(),
                "machine": cpu_name(),
                **results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""IoU of the DSM-only baseline (and of naive DSM thresholding) on held-out synthetic forests.

Usage::

    .venv/bin/python benchmarks/baselines.py [--size 512] [--seeds 0-5] [--tune]

Prints JSON: pooled pixel IoU per threshold (counts summed over the seeds) and per seed.
Evaluation seeds (default 0-5) are disjoint from the tuning seeds (1000-1005) that fixed
the baseline's window defaults; ``--tune`` re-runs that grid search and prints it too.
"""

from __future__ import annotations

import argparse
import json
import time

from forestgaps_engine.evaluation.baselines import (
    GROUND_SMOOTHING_M,
    GROUND_WINDOW_M,
    dsm_only_baseline,
    estimate_ground_m,
    naive_dsm_threshold,
    tune_dsm_only_baseline,
)
from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.metrics.pixel import ConfusionCounts, confusion_counts
from forestgaps_engine.synth.forest import generate_forest

THRESHOLDS_M = (2.0, 5.0, 10.0)
TUNING_SEEDS = range(1000, 1006)


def _seeds(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="site side in pixels (1 m cells)")
    parser.add_argument("--seeds", default="0-5", help="evaluation seeds, e.g. 0-5")
    parser.add_argument("--tune", action="store_true", help="also re-run the tuning search")
    args = parser.parse_args()
    started = time.perf_counter()
    pooled = {m: {t: ConfusionCounts() for t in THRESHOLDS_M} for m in ("dsm_only", "naive")}
    per_seed = []
    for seed in _seeds(args.seeds):
        forest = generate_forest(args.size, seed=seed, nodata_holes=True)
        ground = estimate_ground_m(forest.dsm_m, forest.valid, 1.0)
        row: dict[str, object] = {"seed": seed}
        for t in THRESHOLDS_M:
            labels = label_gaps(forest.chm_m, t, 1.0, 1.0, 10000.0) > 0
            for method, predicted in (
                (
                    "dsm_only",
                    dsm_only_baseline(forest.dsm_m, forest.valid, 1.0, t, ground_m=ground),
                ),
                ("naive", naive_dsm_threshold(forest.dsm_m, forest.valid, 1.0, t)),
            ):
                counts = confusion_counts(predicted > 0, labels, forest.valid)
                pooled[method][t] = pooled[method][t] + counts
                row[f"{method}_iou_t{t:g}"] = round(counts.iou, 4)
        per_seed.append(row)
    result: dict[str, object] = {
        "benchmark": "baselines",
        "size_px": args.size,
        "resolution_m": 1.0,
        "seeds": _seeds(args.seeds),
        "tuning_seeds": list(TUNING_SEEDS),
        "dsm_only_params": {"window_m": GROUND_WINDOW_M, "smoothing_m": GROUND_SMOOTHING_M},
        "iou": {
            method: {f"{t:g}": round(counts.iou, 4) for t, counts in by_t.items()}
            for method, by_t in pooled.items()
        },
        "f1": {
            method: {f"{t:g}": round(counts.f1, 4) for t, counts in by_t.items()}
            for method, by_t in pooled.items()
        },
        "per_seed": per_seed,
    }
    if args.tune:
        sites = []
        for seed in TUNING_SEEDS:
            forest = generate_forest(args.size, seed=seed)
            sites.append((forest.dsm_m, forest.chm_m, forest.valid, 1.0))
        rows = tune_dsm_only_baseline(
            sites, THRESHOLDS_M, (20.0, 30.0, 40.0, 45.0, 60.0, 80.0), (0.0, 4.0, 8.0, 16.0)
        )
        result["tuning"] = [{k: round(v, 4) for k, v in row.items()} for row in rows]
    result["duration_s"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

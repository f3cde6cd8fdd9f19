"""IoU of a model and both baselines on every real lidar sample of the shared data folder.

Usage::

    .venv/bin/python benchmarks/real_samples.py [--data ../shared/data] [--model default]
        [--out out/real_samples] [--threshold 2 --threshold 5 --threshold 10]
        [--resolutions 1,0.5]

Samples (``evaluation/real_samples.py``): the raw cloud ``Topography.laz`` rasterized at
each of ``--resolutions`` (real DSM, real terrain); the height-normalised
``MixedConifer.laz`` (at each of ``--resolutions`` too) and the CHMs ``ALS_CHM_*.tif``,
each as a DSM over flat ground and over a seeded synthetic landscape (one per source).
Labels: ForestGapR on each sample's CHM, patches kept at 1-10000 m² for every method, and
again without the upper bound (how well the height classes are mapped, apart from which
large patches the rule drops). Prints JSON (per
sample: IoU and object F1 per method and threshold, the model's IoU margin over the
DSM-only baseline, the IoU without the upper bound) and writes it to
``OUT/real_samples.json`` with ``OUT/real_samples.md``, the markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from shared_data import SHARED_DATA

from forestgaps_engine.config.gaps import GapsConfig
from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.evaluation.real_samples import build_real_samples, margins_over_baseline
from forestgaps_engine.experiments.heldout import score_on_sites
from forestgaps_engine.files import atomic_path, write_json_atomic
from forestgaps_engine.models.card import load_model

DEFAULT_DATA = SHARED_DATA
METHODS = ("model", "dsm_only")
NO_UPPER_BOUND_M2 = 1e12


def _table(rows: list[dict[str, Any]], thresholds: list[str], key: str, title: str) -> str:
    header = " | ".join(f"{name} @ {t} m" for t in thresholds for name in ("model", "DSM-only"))
    lines = [
        title,
        "",
        f"| sample | cell (m) | ground | {header} |",
        "|---|---:|---|" + "---:|" * (2 * len(thresholds)),
    ]
    for row in rows:
        cells = [_cell(row[key][method].get(t)) for t in thresholds for method in METHODS]
        lines.append(
            f"| {row['source']} | {row['resolution_m']:g} | {row['terrain']} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _per_method(scores: dict[str, Any], metric: str) -> dict[str, dict[str, float | None]]:
    return {m: {t: v[metric] for t, v in scores[m].items()} for m in METHODS}


def _cell_size_m(path: Path) -> float:
    import rasterio

    with rasterio.open(path) as dataset:
        return float(abs(dataset.transform.a))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="shared data folder (default: $FORESTGAPS_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--model", default="default", help="model folder or 'default'")
    parser.add_argument("--out", type=Path, default=Path("out/real_samples"))
    parser.add_argument(
        "--threshold", type=float, action="append", dest="thresholds", help="metres"
    )
    parser.add_argument("--max-area", type=float, default=10000.0, help="gap rule, m²")
    parser.add_argument(
        "--resolutions", default="1,0.5", help="cells (m) the clouds are rasterized at"
    )
    parser.add_argument("--terrain-seed", type=int, default=9300)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"{args.data}: no such folder (the real samples are not shipped)", file=sys.stderr)
        return 2
    thresholds = args.thresholds or [2.0, 5.0, 10.0]
    resolutions_m = tuple(float(value) for value in args.resolutions.split(","))
    started_s = time.perf_counter()
    samples = build_real_samples(args.data, args.out / "inputs", resolutions_m, args.terrain_seed)
    model = load_model(args.model)
    rule = GapsConfig(min_area_m2=1.0, max_area_m2=args.max_area)
    no_upper_bound = GapsConfig(min_area_m2=1.0, max_area_m2=NO_UPPER_BOUND_M2)
    rows = []
    for sample in samples:
        scores = score_on_sites(
            [sample], model, thresholds, args.out / "scores", rule, InferenceConfig()
        )
        unbounded = score_on_sites(
            [sample], model, thresholds, args.out / "unbounded", no_upper_bound, InferenceConfig()
        )
        rows.append(
            {
                "name": sample.name,
                "source": sample.source,
                "terrain": sample.terrain,
                "resolution_m": _cell_size_m(sample.dsm),
                "iou": _per_method(scores, "iou"),
                "object_f1": _per_method(scores, "object_f1"),
                "iou_margin": margins_over_baseline(scores),
                "iou_without_max_area": _per_method(unbounded, "iou"),
            }
        )
    labels = [f"{t:g}" for t in thresholds]
    title = f"IoU of model `{model.card.model_id}` and of the DSM-only baseline"
    tables = "\n".join(
        [
            _table(rows, labels, "iou", f"{title} (patches 1-{args.max_area:g} m²):"),
            _table(rows, labels, "iou_without_max_area", f"{title} (patches >= 1 m²):"),
        ]
    )
    with atomic_path(args.out / "real_samples.md") as temp_path:
        temp_path.write_text(tables, encoding="utf-8")
    report = {
        "model_id": model.card.model_id,
        "thresholds_m": thresholds,
        "gap_rule_m2": [1.0, args.max_area],
        "terrain_seed": args.terrain_seed,
        "samples": rows,
        "duration_s": round(time.perf_counter() - started_s, 1),
    }
    write_json_atomic(args.out / "real_samples.json", report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read speed of training tiles from tar shards vs the same tiles as loose per-tile files.

Writes N tiles (random heights, one mask per threshold) once as shards and once as loose
``<key>.<field>`` files, then reads each variant in a fresh subprocess through the datasets
training uses (``ShardDataset`` vs ``TileDataset``: decode + threshold draw + tensors), and
once as raw bytes (the container alone: tar members vs one file per array).
The page cache is NOT dropped: both variants were just written, so both numbers are warm
cache reads; they measure per-file overhead (open/stat/read of many small files) against
sequential reads of a few large ones, not disk speed.

Prints one JSON object. Example::

    .venv/bin/python benchmarks/shards_vs_loose.py --n-tiles 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

THRESHOLDS_M = (2.0, 5.0, 10.0)
# *_raw: container reads only (bytes of every member); the others: full dataset items.
VARIANTS = ("shards", "loose", "shards_raw", "loose_raw")


def _write(root: Path, n_tiles: int, tile_size_px: int, samples_per_shard: int) -> dict[str, float]:
    from forestgaps_engine.data.datasets import export_loose_tiles
    from forestgaps_engine.data.shards import ShardWriter, TileSample

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    with ShardWriter(root / "shards", "train", samples_per_shard) as writer:
        for index in range(n_tiles):
            chm_m = rng.uniform(0, 30, (tile_size_px, tile_size_px)).astype(np.float32)
            valid = np.ones_like(chm_m, dtype=bool)
            masks = {t: (chm_m <= t).astype(np.uint8) for t in THRESHOLDS_M}
            metadata = {"gap_ratio": {f"{t:g}": float(masks[t].mean()) for t in THRESHOLDS_M}}
            writer.write(TileSample(f"tile_{index:07d}", chm_m + 400.0, valid, masks, metadata))
    shard_write_s = time.perf_counter() - start
    start = time.perf_counter()
    export_loose_tiles([s.path for s in writer.shards], root / "loose")
    loose_write_s = time.perf_counter() - start
    return {"shard_write_s": shard_write_s, "loose_write_s": loose_write_s}


def _read(variant: str, root: Path) -> dict[str, float]:
    from forestgaps_engine.data.datasets import ShardDataset, TileDataset
    from forestgaps_engine.data.shard_reader import iter_shard_members

    shard_paths = sorted((root / "shards" / "train").glob("*.tar"))
    start = time.perf_counter()
    if variant == "shards_raw":
        n_tiles = sum(1 for path in shard_paths for _ in iter_shard_members(path))
    elif variant == "loose_raw":
        keys = sorted(p.name.partition(".")[0] for p in (root / "loose").glob("*.json"))
        fields = ["json", "dsm.npy", "valid.npy"] + [f"mask_t{t:g}.npy" for t in THRESHOLDS_M]
        n_tiles = 0
        for key in keys:
            payloads = [(root / "loose" / f"{key}.{field}").read_bytes() for field in fields]
            n_tiles += len(payloads) > 0
    elif variant == "shards":
        dataset = ShardDataset(shard_paths, THRESHOLDS_M)
        n_tiles = sum(1 for _ in dataset)
    else:
        dataset = TileDataset(root / "loose", THRESHOLDS_M)
        n_tiles = sum(1 for index in range(len(dataset)) if dataset[index] is not None)
    duration_s = time.perf_counter() - start
    return {"n_tiles": n_tiles, "read_s": duration_s, "tiles_per_s": n_tiles / duration_s}


def _read_in_subprocess(variant: str, root: Path) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, __file__, "--read-variant", variant, "--root", str(root)],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"reading {variant} failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


def _size_bytes(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-tiles", type=int, default=10000)
    parser.add_argument("--tile-size-px", type=int, default=64)
    parser.add_argument("--samples-per-shard", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2, help="fresh-process reads per variant")
    parser.add_argument("--read-variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_variant:
        print(json.dumps(_read(args.read_variant, args.root)))
        return
    with tempfile.TemporaryDirectory(prefix="fg-shards-vs-loose-") as temp:
        root = Path(temp)
        writes = _write(root, args.n_tiles, args.tile_size_px, args.samples_per_shard)
        runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
        for _ in range(args.repeats):
            for variant in VARIANTS:
                runs[variant].append(_read_in_subprocess(variant, root))
        shard_files, shard_bytes = _size_bytes(root / "shards")
        loose_files, loose_bytes = _size_bytes(root / "loose")
    best = {variant: max(r["tiles_per_s"] for r in results) for variant, results in runs.items()}
    print(
        json.dumps(
            {
                "benchmark": "shards_vs_loose",
                "n_tiles": args.n_tiles,
                "tile_size_px": args.tile_size_px,
                "thresholds": len(THRESHOLDS_M),
                "samples_per_shard": args.samples_per_shard,
                "page_cache": "warm for both (files just written; caches not dropped)",
                "files": {"shards": shard_files, "loose": loose_files},
                "bytes": {"shards": shard_bytes, "loose": loose_bytes},
                "runs": runs,
                "best_tiles_per_s": best,
                "shards_over_loose_dataset": best["shards"] / best["loose"],
                "shards_over_loose_raw": best["shards_raw"] / best["loose_raw"],
                **writes,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Gap polygons: time and peak RSS of ``write_gap_polygons``, this tree against another.

Each case is a cut raster (1 gap, 0 not) of the synthetic forest (``benchmarks/inference.py
--dsm forest``: one 4096² site, mirrored beyond) taken at a CHM threshold: ``forest`` at
5 m (realistic gaps), ``spanning`` at a height quantile where one gap spans the raster.
For every tree, a fresh process labels the cut as ``predict`` does (``label_cut_raster``,
on-disk ids), then the peak RSS is reset (``/proc/self/clear_refs``) and the polygons are
written: ``polygons_peak_rss_mb`` is that step's own peak. Prints one JSON object.

Usage:
    git worktree add /tmp/oldtree <commit before GDAL polygons>
    python benchmarks/vectorize.py --sizes 4096,16384 --spanning-sizes 16384 --old /tmp/oldtree
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forestgaps_engine.machine import cpu_name  # noqa: E402

FOREST_BLOCK_PX = 4096
STRIP_ROWS = 1024
CHILD = r"""
import inspect, json, sys, time
from pathlib import Path
import numpy as np, rasterio
sys.path.insert(0, sys.argv[1])
from forestgaps_engine.geo.raster_io import grid_of
from forestgaps_engine.inference import postprocess
from forestgaps_engine.inference.polygons import write_gap_polygons

def rss_mb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024

cut, work = Path(sys.argv[2]), Path(sys.argv[3])
with rasterio.open(cut) as dataset:
    grid = grid_of(dataset)
gaps = postprocess.label_cut_raster(cut, grid, 1.0, work)
nan = np.full(gaps.n_gaps, np.nan)
statistics = postprocess.GapStatistics(gaps.area_m2, nan, nan, nan)
before_mb = rss_mb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
kwargs = {"n_threads": 0} if "n_threads" in inspect.signature(write_gap_polygons).parameters else {}
started = time.perf_counter()
target = write_gap_polygons(work / "gaps.gpkg", gaps, statistics, 5.0, **kwargs)
polygons_s = time.perf_counter() - started
peak_mb = rss_mb("VmHWM")
from osgeo import ogr
dataset = ogr.Open(str(target))
layer = dataset.GetLayer(0)
area_m2 = 0.0
n_parts = 0
for feature in layer:
    geometry = feature.GetGeometryRef()
    area_m2 += geometry.GetArea()
    n_parts += geometry.GetGeometryCount()
name = layer.GetName()
result = dataset.ExecuteSQL(f"SELECT HasSpatialIndex('{name}', 'geom')")
has_index = bool(result.GetNextFeature().GetField(0))
dataset.ReleaseResultSet(result)
print(json.dumps({
    "n_gaps": gaps.n_gaps, "largest_gap_m2": float(gaps.area_m2.max(initial=0)),
    "features": layer.GetFeatureCount(), "parts": n_parts, "polygon_area_m2": area_m2,
    "gap_area_m2": float(gaps.area_m2.sum()), "polygons_s": round(polygons_s, 2),
    "rss_before_polygons_mb": round(before_mb), "polygons_peak_rss_mb": round(peak_mb),
    "gpkg_mb": round(target.stat().st_size / 1e6, 1), "has_spatial_index": has_index,
}))
"""


def forest_chm_block(seed: int = 9500) -> np.ndarray:
    """The 4096² synthetic forest's CHM (metres, NaN at nodata), mirrored for wider rasters."""
    sys.path.insert(0, str(REPO))
    from forestgaps_engine.synth.forest import generate_forest

    return generate_forest(FOREST_BLOCK_PX, 1.0, "EPSG:2154", seed).chm_m.astype(np.float32)


def write_cut(path: Path, block: np.ndarray, size_px: int, threshold_m: float) -> Path:
    """A size² cut raster (uint8: 1 CHM <= threshold, 0 not, 255 nodata), by strips."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    block_px = block.shape[0]
    tiled = np.concatenate([block, block[:, ::-1]], axis=1)
    cols = np.arange(size_px) % (2 * block_px)
    with rasterio.open(
        path, "w", driver="GTiff", width=size_px, height=size_px, count=1, dtype="uint8",
        crs="EPSG:2154", transform=Affine(1, 0, 650000, 0, -1, 6860000), nodata=255,
        tiled=True, compress="deflate", BIGTIFF="IF_SAFER",
    ) as dataset:  # fmt: skip
        for row_off in range(0, size_px, STRIP_ROWS):
            n_rows = min(STRIP_ROWS, size_px - row_off)
            rows = np.arange(row_off, row_off + n_rows) % (2 * block_px)
            rows = np.where(rows < block_px, rows, 2 * block_px - 1 - rows)
            chm = tiled[rows][:, cols]
            cut = np.where(np.isnan(chm), 255, chm <= threshold_m).astype(np.uint8)
            dataset.write(cut, 1, window=Window(0, row_off, size_px, n_rows))
    return path


def run_tree(tree: Path, cut: Path, folder: Path) -> dict:
    """The child on a copy of ``cut`` (labelling deletes it), in a fresh process."""
    import shutil

    work = Path(tempfile.mkdtemp(dir=folder))
    copy = shutil.copy(cut, work / "cut.tif")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(copy), str(work)],
        capture_output=True, text=True, env=env, cwd=tree,
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:], "returncode": done.returncode}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_s"] = round(time.perf_counter() - started, 1)
    shutil.rmtree(work)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096", help="forest cases, comma-separated px")
    parser.add_argument("--spanning-sizes", default="", help="spanning-gap cases")
    parser.add_argument("--threshold", type=float, default=5.0, help="forest case, metres")
    parser.add_argument("--spanning-quantile", type=float, default=0.6)
    parser.add_argument("--old", type=Path, help="another tree (git worktree) to compare")
    parser.add_argument("--folder", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    trees = {"new": REPO, **({"old": args.old.resolve()} if args.old else {})}
    block = forest_chm_block()
    spanning_m = float(np.nanquantile(block, args.spanning_quantile))
    cases = [("forest", int(s), args.threshold) for s in args.sizes.split(",") if s]
    cases += [("spanning", int(s), spanning_m) for s in args.spanning_sizes.split(",") if s]
    report: dict = {"cpu": cpu_name(), "cores": os.cpu_count(), "cases": []}
    with tempfile.TemporaryDirectory(dir=args.folder) as scratch:
        for kind, size_px, threshold_m in cases:
            cut = write_cut(Path(scratch) / f"{kind}_{size_px}.tif", block, size_px, threshold_m)
            case = {"case": kind, "size_px": size_px, "threshold_m": round(threshold_m, 2)}
            for name, tree in trees.items():
                case["load_before_" + name] = round(os.getloadavg()[0], 2)
                case[name] = run_tree(tree, cut, Path(scratch))
            report["cases"].append(case)
            print(json.dumps(case), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

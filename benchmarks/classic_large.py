"""The classic detector (``forestgaps gaps-from-chm``) on large CHMs; prints one JSON object.

For each size, a CHM of a synthetic forest (``forestgaps synth``: stands, gaps, tracks;
1 m, EPSG:2154) is written strip by strip, the generated block mirrored in both directions
beyond its side (no seams), then ``forestgaps gaps-from-chm`` runs on it in a fresh
process that reports its own wall time, core-seconds and peak RSS (``VmHWM``). ForestGapR
runs on the same CHM when R and the package are installed; otherwise the JSON says why
not.

Usage:
    python benchmarks/classic_large.py --sizes 4096,16384 --thresholds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FOREST_BLOCK_PX = 4096
FORESTGAPR_SCRIPT = """
suppressMessages(library(ForestGapR)); suppressMessages(library(raster))
chm <- raster(commandArgs(TRUE)[1]); started <- Sys.time()
gaps <- getForestGaps(chm_layer = chm, threshold = as.numeric(commandArgs(TRUE)[2]),
                      size = c(1, 10000))
cat(as.numeric(difftime(Sys.time(), started, units = "secs")), "\\n")
"""


def mirrored_forest_chm(path: Path, size_px: int, block_px: int, seed: int = 9500) -> Path:
    """A size x size float32 CHM GeoTIFF: one generated forest block, mirrored beyond it."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    from forestgaps_engine.synth.forest import generate_forest

    block_px = min(size_px, block_px)
    block = generate_forest(block_px, 1.0, "EPSG:2154", seed).chm_m.astype(np.float32)
    tiled = np.concatenate([block, block[:, ::-1]], axis=1)
    cols = np.arange(size_px) % (2 * block_px)
    strip_rows = 1024
    with rasterio.open(
        path, "w", driver="GTiff", width=size_px, height=size_px, count=1, dtype="float32",
        crs="EPSG:2154", transform=Affine(1, 0, 650000, 0, -1, 6860000), nodata=-9999.0,
        tiled=True, blockxsize=256, blockysize=256, compress="deflate", BIGTIFF="IF_SAFER",
    ) as dataset:  # fmt: skip
        for row_off in range(0, size_px, strip_rows):
            n_rows = min(strip_rows, size_px - row_off)
            rows = np.arange(row_off, row_off + n_rows) % (2 * block_px)
            rows = np.where(rows < block_px, rows, 2 * block_px - 1 - rows)
            values = np.where(np.isfinite(tiled[rows][:, cols]), tiled[rows][:, cols], -9999.0)
            dataset.write(values.astype(np.float32), 1, window=Window(0, row_off, size_px, n_rows))
    return path


def peak_rss_mb() -> float:
    """This process's peak resident memory (``VmHWM``), MB: its own, not a parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(chm: str, out: str, thresholds: list[str]) -> None:
    """Run ``forestgaps gaps-from-chm`` in this process; print wall, CPU and peak RSS."""
    from forestgaps_engine.cli.main import main as cli_main

    args = ["gaps-from-chm", chm, "--out", out]
    for threshold in thresholds:
        args += ["--threshold", threshold]
    cpu_before, started = os.times(), time.perf_counter()
    code = cli_main(args)
    wall_s, cpu_after = time.perf_counter() - started, os.times()
    summary = json.loads((Path(out) / "summary.json").read_text())
    print(json.dumps({
        "exit_code": code,
        "wall_s": round(wall_s, 2),
        "cpu_core_s": round(
            cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system, 2
        ),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "summary": summary,
    }))  # fmt: skip


def forestgapr(chm: Path, threshold_m: str) -> dict[str, object]:
    """ForestGapR's ``getForestGaps`` on the same CHM, or why it could not run."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"ran": False, "reason": "no Rscript on this machine"}
    probe = subprocess.run(
        [rscript, "-e", "library(ForestGapR)"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return {"ran": False, "reason": "R is installed but the ForestGapR package is not"}
    completed = subprocess.run(
        [rscript, "-e", FORESTGAPR_SCRIPT, str(chm), threshold_m],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        return {"ran": False, "reason": completed.stderr.strip().splitlines()[-1:]}
    return {"ran": True, "wall_s": round(float(completed.stdout.split()[0]), 2)}


def main() -> None:
    from forestgaps_engine.machine import cpu_description

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,16384", help="comma-separated CHM sides, px")
    parser.add_argument("--thresholds", default="5", help="comma-separated thresholds, m")
    parser.add_argument("--block", type=int, default=FOREST_BLOCK_PX, help="generated side")
    parser.add_argument("--child", nargs=2, metavar=("CHM", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    thresholds = [t for t in args.thresholds.split(",") if t]
    if args.child:
        child(args.child[0], args.child[1], thresholds)
        return
    work = Path(tempfile.mkdtemp(prefix="forestgaps-classic-"))
    # SIGTERM unwinds like Ctrl-C, so the CHMs (1 GB at 16384²) are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report: dict[str, object] = {
        **cpu_description(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "thresholds_m": [float(t) for t in thresholds],
        "chm": f"synthetic forest, {args.block}² block mirrored, 1 m",
        "runs": [],
    }
    try:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            chm = mirrored_forest_chm(work / f"chm_{size}.tif", size, args.block)
            completed = subprocess.run(
                [sys.executable, __file__, "--thresholds", args.thresholds,
                 "--child", str(chm), str(work / f"out_{size}")],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            run = json.loads(completed.stdout.strip().splitlines()[-1])
            summary = run.pop("summary")
            run.update({
                "size_px": size,
                "mpix": round(size * size / 1e6, 2),
                "mpix_per_s": round(size * size / 1e6 / run["wall_s"], 2),
                "n_gaps": {
                    f"{entry['threshold_m']:g}": entry["n_gaps"]
                    for entry in summary["thresholds"].values()
                },
                "forestgapr": forestgapr(chm, thresholds[0]),
            })  # fmt: skip
            report["runs"].append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
            shutil.rmtree(work / f"out_{size}", ignore_errors=True)
            chm.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

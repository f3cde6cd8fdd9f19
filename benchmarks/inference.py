"""Inference throughput and memory; prints one JSON object.

Figures: end-to-end MPix/s of ``predict`` and model-only MPix/s per backend on a synthetic
DSM, their ratio (and the ratio's ceiling if the call's core-seconds filled every core),
the achieved GFLOP/s against this machine's measured 4096² matmul peak (fp32 and bf16,
torch; int8 in OpenVINO, for ``openvino_int8``, quantised into the cache on first use), the overlap overhead (pixels computed / pixels output), the auto backend's
calibration, and peak RSS of ``predict`` at several raster sizes (one fresh process per
size). ``--paths overlapped,overlapped_gdal,sequential`` runs each backend (and each RSS
size) once per path, side by side in one run: ``overlapped`` has
``inference.overlap_postprocess`` true (steps on their own threads, the cut labelled and
polygonized strip by strip while the model runs; the summary's ``profile`` is kept),
``overlapped_gdal`` the same with the polygons left to GDAL's polygonizer on the ids
raster after the stream (``inference.polygons_in_stream`` false, the default), ``sequential``
has ``inference.overlap_postprocess`` false.

Usage:
    python benchmarks/inference.py --size 1024 --rss-sizes 1024,2048
    python benchmarks/inference.py --model path/to/model --size 4096 --rss-sizes 1024,4096,16384
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forestgaps_engine.config.inference import InferenceConfig  # noqa: E402
from forestgaps_engine.threads import available_cores  # noqa: E402

# The forest DSM's generated block: larger rasters mirror it (generate_forest holds
# every array of the site in memory).
FOREST_BLOCK_PX = 4096


def forest_dsm(path: Path, size_px: int, seed: int = 9500, strip_rows: int = 1024) -> Path:
    """A size x size DSM of a synthetic forest (``forestgaps synth``: relief, stands, gaps,
    tracks; 1 m, EPSG:2154), the realistic input.

    Up to 4096² it is one generated site; beyond, that site mirrored in both directions
    (no seam: each copy meets its mirror image), written strip by strip.
    """
    from forestgaps_engine.synth.forest import generate_forest

    block_px = min(size_px, FOREST_BLOCK_PX)
    forest = generate_forest(block_px, 1.0, "EPSG:2154", seed)
    block = forest.dsm_m.astype(np.float32)
    del forest
    tiled = np.concatenate([block, block[:, ::-1]], axis=1)
    cols = np.arange(size_px) % (2 * block_px)

    def strip(row_off: int, n_rows: int) -> np.ndarray:
        rows = np.arange(row_off, row_off + n_rows) % (2 * block_px)
        rows = np.where(rows < block_px, rows, 2 * block_px - 1 - rows)
        return tiled[rows][:, cols]

    return _write_by_strips(path, size_px, strip_rows, strip)


def _write_by_strips(
    path: Path, size_px: int, strip_rows: int, strip: Callable[[int, int], np.ndarray]
) -> Path:
    """A size x size float32 GeoTIFF (1 m, EPSG:2154) written one ``strip(row_off,
    n_rows)`` at a time, so a 16384² DSM never lies in memory whole."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    with rasterio.open(
        path, "w", driver="GTiff", width=size_px, height=size_px, count=1, dtype="float32",
        crs="EPSG:2154", transform=Affine(1, 0, 650000, 0, -1, 6860000), nodata=-9999.0,
        tiled=True, blockxsize=256, blockysize=256, compress="deflate", BIGTIFF="IF_SAFER",
    ) as dataset:  # fmt: skip
        for row_off in range(0, size_px, strip_rows):
            n_rows = min(strip_rows, size_px - row_off)
            values = strip(row_off, n_rows).astype(np.float32, copy=False)
            dataset.write(values, 1, window=Window(0, row_off, size_px, n_rows))
    return path


def benchmark_dsm(kind: str, path: Path, size_px: int) -> Path:
    """The benchmark's DSM: ``forest`` (``forest_dsm``) or ``waves`` (``synthetic_dsm``)."""
    return (forest_dsm if kind == "forest" else synthetic_dsm)(path, size_px)


def synthetic_dsm(path: Path, size_px: int, seed: int = 0, strip_rows: int = 1024) -> Path:
    """A size x size DSM (1 m, EPSG:2154): undulating canopy on a plateau, square gaps.

    Not a forest: models trained on synthetic forests read much of it as gap (the
    2026-12-06 default model: one patch over most of it at 5 m). Kept as ``--dsm waves``
    for figures comparable with the earlier ones and as a stress case.

    Written strip by strip, so making a 16384² DSM holds one strip, not the raster.
    """
    rng = np.random.default_rng(seed)
    cols = np.arange(size_px, dtype=np.float32)[None, :]

    def strip(row_off: int, n_rows: int) -> np.ndarray:
        rows = np.arange(row_off, row_off + n_rows, dtype=np.float32)[:, None]
        heights = 220.0 + 5.0 * np.sin(rows / 6.0) * np.cos(cols / 8.0)
        heights = heights + rng.normal(0, 0.5, (n_rows, size_px)).astype(np.float32)
        for _ in range(n_rows * size_px // (16 * size_px)):
            r, c = int(rng.integers(0, n_rows)), int(rng.integers(0, size_px))
            radius = int(rng.integers(3, 12))
            heights[max(0, r - radius) : r + radius, max(0, c - radius) : c + radius] = 202.0
        return heights

    return _write_by_strips(path, size_px, strip_rows, strip)


def benchmark_model(
    folder: Path, arch: str, base_channels: int, params: dict | None = None
) -> Path:
    """A random-init model folder (throughput does not depend on the weights' values)."""
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.card import ModelCard, save_model
    from forestgaps_engine.models.normalization import Normalizer

    torch.manual_seed(0)
    model = create(arch, **(params or {"base_channels": base_channels}))
    card = ModelCard(thresholds_m=[2, 5, 10], threshold_range_m=(2, 20), resolution_m=1.0)
    normalizer = Normalizer("robust_percentile", {"relief_range_m": 30.0})
    return save_model(model, normalizer, card, folder)


def matmul_peak_gflops(size: int = 4096, repeats: int = 3) -> dict[str, float]:
    """Measured fp32 and bf16 ``size``² matmul GFLOP/s on the CPU (torch), best of repeats."""
    import torch

    peaks = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(size, size).to(dtype)
        b = torch.randn(size, size).to(dtype)
        a @ b
        best_s = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            a @ b
            best_s = min(best_s, time.perf_counter() - started)
        peaks[name] = round(2 * size**3 / best_s / 1e9, 2)
    try:
        from model_layers import openvino_matmul_peaks

        # torch has no int8 GEMM worth the name on CPUs; OpenVINO's is what int8 runs on.
        peaks["int8"] = openvino_matmul_peaks(size, repeats)["int8"]
    except ImportError:
        pass
    return peaks


def model_only(
    loaded: object,
    backend_name: str,
    tile_px: int,
    n_windows: int,
    thresholds: list[float],
    repeats: int,
) -> float:
    """Output MPix/s (window x threshold) of the backend alone, fed as ``predict`` feeds it.

    ``n_windows`` windows of ``tile_px``² with every threshold: once each for a backend
    that shares windows across thresholds, repeated per threshold otherwise.
    """
    from forestgaps_engine.inference.backends import create_backend

    backend = create_backend(loaded, backend_name, "auto")
    rng = np.random.default_rng(0)
    repeats_per_window = 1 if getattr(backend, "shares_windows", False) else len(thresholds)
    dsm = rng.normal(0, 0.3, (n_windows * repeats_per_window, 1, tile_px, tile_px))
    dsm = dsm.astype(np.float32)
    model_thresholds = np.tile(np.asarray(thresholds, dtype=np.float32), n_windows)
    backend.run(dsm, model_thresholds)  # warm-up (allocations, lazy init)
    started = time.perf_counter()
    for _ in range(repeats):
        backend.run(dsm, model_thresholds)
    n_output_px = model_thresholds.size * tile_px * tile_px
    return n_output_px * repeats / 1e6 / (time.perf_counter() - started)


def current_rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process now (``VmRSS``) or at its peak (``VmHWM``), MB (Linux).

    ``VmHWM`` belongs to this program's address space; ``ru_maxrss`` would not do here,
    since Linux carries the parent's peak over ``fork``/``exec`` into the child's.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(
    dsm: str, model: str, config_json: str, thresholds: list[float], path: str
) -> None:
    """Run predict once in this process on an existing DSM and print its peak RSS."""
    from forestgaps_engine.inference import predict

    with tempfile.TemporaryDirectory() as folder:
        config = InferenceConfig.model_validate_json(config_json)
        config = config.model_copy(update={"polygons_in_stream": path == "overlapped"})
        before_mb = current_rss_mb()
        result = predict(dsm, thresholds, model, Path(folder) / "out", config)
        peak_mb = current_rss_mb("VmHWM")
    print(json.dumps({
        "size_px": result.summary["grid"]["width_px"],
        "peak_rss_mb": round(peak_mb, 1),
        "rss_before_predict_mb": round(before_mb, 1),
        "backend": result.summary["backend"],
        "n_gaps": [entry["n_gaps"] for entry in result.summary["thresholds"]],
        "mpix_per_s": result.summary["mpix_per_s"],
        "timings_s": result.summary["timings_s"],
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="DSM side for throughput, px")
    parser.add_argument("--rss-sizes", default="1024,4096", help="comma-separated DSM sides")
    parser.add_argument("--model", help="model folder (default: a random-init --arch)")
    parser.add_argument("--arch", default="unet_film_cbam")
    parser.add_argument("--base-channels", type=int, default=16)
    parser.add_argument(
        "--backends", default="auto,torch,onnxruntime,openvino,openvino_bf16,openvino_int8"
    )
    parser.add_argument("--rss-backend", default="auto", help="backend of the RSS runs")
    parser.add_argument("--rss-arch", help="architecture of the RSS runs' model (default --arch)")
    parser.add_argument("--rss-params", help="its params as JSON, e.g. '{\"base_channels\": 4}'")
    parser.add_argument(
        "--rss-thresholds", help="thresholds of the RSS runs (default --thresholds)"
    )
    parser.add_argument(
        "--dsm",
        choices=("forest", "waves"),
        default="forest",
        help="forest: a synthetic forest (forestgaps synth, mirrored beyond 4096²); waves: "
        "the earlier undulating surface with square gaps (read mostly as gap)",
    )
    parser.add_argument("--thresholds", default="2,5,10")
    parser.add_argument(
        "--paths",
        default="overlapped",
        help="overlapped,overlapped_gdal,sequential (see the module's docstring)",
    )
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--batch", type=int, default=6)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--config-json", help=argparse.SUPPRESS)
    parser.add_argument("--rss-path", default="overlapped", help=argparse.SUPPRESS)
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    if args.rss_child:
        rss_child(args.rss_child, args.model, args.config_json, thresholds, args.rss_path)
        return

    from forestgaps_engine.inference import predict
    from forestgaps_engine.inference.backends import available_backends
    from forestgaps_engine.inference.model_source import as_inference_model
    from forestgaps_engine.inference.windows import computed_pixel_ratio
    from forestgaps_engine.models.card import load_model
    from forestgaps_engine.models.summary import gflops_per_tile

    work = Path(tempfile.mkdtemp(prefix="forestgaps-bench-"))
    os.environ.setdefault("FORESTGAPS_CACHE_DIR", str(work / "cache"))
    model_path = (
        Path(args.model)
        if args.model
        else benchmark_model(work / "model", args.arch, args.base_channels)
    )
    loaded = load_model(model_path)
    dsm = benchmark_dsm(args.dsm, work / "dsm.tif", args.size)
    config = InferenceConfig(tile_size_px=args.tile, overlap_px=args.overlap, batch_size=args.batch)
    rss_config = config.model_copy(update={"backend": args.rss_backend})
    overlap = computed_pixel_ratio(args.size, args.size, args.tile, args.overlap)
    # FLOPs grow with the pixel count for these fully convolutional nets.
    # Per output pixel (window x threshold), with every threshold of a window in one call:
    # a model sharing its trunk across thresholds costs less per output than at K = 1.
    n_thresholds = len(thresholds)
    gflop_per_mpix = gflops_per_tile(loaded.model, 256, n_thresholds) / (
        n_thresholds * 256 * 256 / 1e6
    )
    peaks = matmul_peak_gflops()
    report: dict[str, object] = {
        "model": {
            "architecture": loaded.card.architecture,
            "params": loaded.card.params,
            "gflop_per_mpix": round(gflop_per_mpix, 3),
        },
        "dsm": args.dsm,
        "size_px": args.size,
        "thresholds_m": thresholds,
        "tile_size_px": args.tile,
        "overlap_px": args.overlap,
        "batch_size": args.batch,
        "overlap_overhead": round(overlap, 4),
        "cpu_count": os.cpu_count(),
        "matmul_peak_gflops": peaks,
        "backends": {},
    }
    installed = available_backends(as_inference_model(loaded), "cpu")
    wanted = [name for name in args.backends.split(",") if name]
    # torch_compile is never one of auto's candidates; it runs when asked and torch is here.
    usable = [*installed, "auto"] + (["torch_compile"] if "torch" in installed else [])
    # openvino_int8 is auto's candidate only once its IR exists; asked here, it is made.
    if "openvino" in installed and importlib.util.find_spec("nncf") is not None:
        usable.append("openvino_int8")
    paths = {"overlapped": True, "overlapped_gdal": True, "sequential": False}
    chosen_paths = [name for name in args.paths.split(",") if name]
    model_mpix_of: dict[str, float] = {}
    for backend, path in [
        (name, path) for name in wanted if name in usable for path in chosen_paths
    ]:
        backend_config = config.model_copy(
            update={
                "backend": backend,
                "overlap_postprocess": paths[path],
                "polygons_in_stream": path == "overlapped",
            }
        )
        key = backend if path == "overlapped" else f"{backend} ({path})"
        cpu_before = os.times()
        result = predict(dsm, thresholds, loaded, work / f"out_{backend}_{path}", backend_config)
        cpu_after = os.times()
        summary = result.summary
        # Core-seconds of the whole call (every thread): with n cores, no overlap of the
        # work can make the call shorter than this over n.
        cpu_core_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        entry: dict[str, object] = {
            "device": summary["device"],
            "backend": summary["backend"],
            "end_to_end_mpix_per_s": summary["mpix_per_s"],
            "timings_s": summary["timings_s"],
            "cpu_core_s": round(cpu_core_s, 3),
            "mean_cores_busy": round(cpu_core_s / summary["timings_s"]["total"], 3),
            "profile": summary["profile"],
        }
        if backend == "auto":
            entry["calibration"] = summary["backend_calibration"]
        else:
            # Windows per model call as the predictor sends them (each with every threshold).
            n_windows = max(1, args.batch // len(thresholds))
            if backend not in model_mpix_of:
                model_mpix_of[backend] = model_only(
                    loaded, backend, args.tile, n_windows, thresholds, repeats=3
                )
            model_mpix = model_mpix_of[backend]
            computed_mpix_per_s = summary["mpix_per_s"] * overlap * len(thresholds)
            precision = backend.rsplit("_", 1)[-1]
            peak = peaks[precision if precision in ("bf16", "int8") else "fp32"]
            entry.update({
                "model_only_mpix_per_s": round(model_mpix, 4),
                # Output pixels per second over model pixels per second (every threshold
                # and the overlap are work the model does for one output pixel).
                "end_to_end_over_model_only": round(summary["mpix_per_s"] / model_mpix, 4),
                "computed_over_model_only": round(computed_mpix_per_s / model_mpix, 4),
                # The same ratio if the call's work filled every core all the time: the
                # most any overlap of the steps could reach with this much work.
                "computed_over_model_only_full_overlap": round(
                    computed_mpix_per_s
                    * summary["timings_s"]["total"]
                    / (cpu_core_s / available_cores())
                    / model_mpix,
                    4,
                ),
                "model_time_share": round(
                    summary["timings_s"]["model"] / summary["timings_s"]["total"], 4
                ),
                "model_only_gflops": round(model_mpix * gflop_per_mpix, 2),
                "efficiency_vs_matmul_peak": round(model_mpix * gflop_per_mpix / peak, 4),
            })  # fmt: skip
        report["backends"][key] = entry
    rss_model = model_path
    if args.rss_arch or args.rss_params:
        rss_params = json.loads(args.rss_params) if args.rss_params else None
        rss_model = benchmark_model(
            work / "rss_model", args.rss_arch or args.arch, args.base_channels, rss_params
        )
        report["rss_model"] = {"architecture": args.rss_arch or args.arch, "params": rss_params}
    rss_thresholds = args.rss_thresholds or args.thresholds
    report["rss_backend"] = args.rss_backend
    report["rss_thresholds_m"] = rss_thresholds
    rss = []
    for size in [int(s) for s in args.rss_sizes.split(",") if s]:
        size_dsm = benchmark_dsm(args.dsm, work / f"dsm_{size}.tif", size)
        for path in chosen_paths:
            path_config = rss_config.model_copy(update={"overlap_postprocess": paths[path]})
            completed = subprocess.run(
                [sys.executable, __file__, "--rss-child", str(size_dsm), "--model", str(rss_model),
                 "--config-json", path_config.model_dump_json(), "--thresholds", rss_thresholds,
                 "--rss-path", path],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rss.append({"path": path, **json.loads(completed.stdout.strip().splitlines()[-1])})
        size_dsm.unlink()
    report["peak_rss"] = rss
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

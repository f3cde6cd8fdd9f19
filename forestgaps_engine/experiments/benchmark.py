"""Architecture benchmark: same data, same budget, same held-out sites for every model.

``run_benchmark`` prepares the synthetic data once per fold (or reuses it), trains each
listed architecture, measures its size (parameters, GFLOPs, training activations), its
training time and its prediction speed (``predict`` on a held-out DSM), scores it on
held-out synthetic sites next to both baselines, and writes the comparison into a
markdown section with figures. Every finished run leaves ``runs/<name>[_fold<k>]/
result.json`` and is skipped when that file exists, so an interrupted benchmark resumes.

Folds are by site: fold ``k`` draws its own disjoint set of synthetic sites (seeds
``synth.seed + k * data.synthetic_sites`` onwards), split into train/val/test by site. The
real sites of ``benchmark.real_sites`` are dealt over the folds by source, as
``evaluate-real --folds`` deals them: fold ``k`` trains on the other folds' real sites and
each of its models is scored on fold ``k``'s own, next to the DSM-only baseline.
"""

from __future__ import annotations

import json
import logging
import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.config.data import SiteConfig
from forestgaps_engine.data.prepare import prepare
from forestgaps_engine.evaluation.marked_section import write_marked_section
from forestgaps_engine.evaluation.real_sites import (
    METHOD_BASELINE,
    METHOD_MODEL,
    evaluate_real_sites,
)
from forestgaps_engine.experiments.benchmark_config import (
    BenchmarkArchitecture,
    BenchmarkSettings,
    check_benchmark,
    real_site_folds,
)
from forestgaps_engine.experiments.benchmark_report import (
    MEAN_METRICS,
    benchmark_markdown,
    convergence,
    mean_over_thresholds,
    mean_sd,
)
from forestgaps_engine.experiments.heldout import heldout_sites, inference_speed, score_on_sites
from forestgaps_engine.files import ensure_writable_dir, write_json_atomic
from forestgaps_engine.machine import cpu_name
from forestgaps_engine.progress import CancelCallback, ProgressCallback, Reporter
from forestgaps_engine.training.api import train

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"
SECTION = "benchmark"


@dataclass(frozen=True)
class BenchmarkResult:
    """Where the benchmark wrote, and each run's result (skipped runs included)."""

    output_dir: Path
    report: Path | None
    runs: tuple[dict[str, Any], ...]
    skipped: tuple[str, ...]


def _prepared(
    config: ForestGapsConfig,
    settings: BenchmarkSettings,
    fold: int,
    out: Path,
    real_sites: list[SiteConfig],
) -> Path:
    if settings.prepared_dir and settings.n_folds == 1:
        return Path(settings.prepared_dir)
    folder = out / ("prepared" if settings.n_folds == 1 else f"prepared_fold{fold}")
    if (folder / "manifest.json").is_file():
        logger.info("reusing prepared data %s", folder)
        return folder
    seed = config.synth.seed + fold * config.data.synthetic_sites
    sites = list(config.data.sites) + real_sites
    prepare(config.updated(synth={"seed": seed}, data={"output_dir": str(folder), "sites": sites}))
    return folder


def _fold_sites(prepared: Path) -> dict[str, list[str]]:
    """Site names per split of a prepared dataset (from its manifest)."""
    manifest = json.loads((prepared / "manifest.json").read_text("utf-8"))
    by_split: dict[str, list[str]] = {}
    for name, summary in sorted((manifest.get("sites") or {}).items()):
        rule = summary.get("split") or {}
        # A site too large to go whole is cut into spatial blocks across the splits.
        split = rule.get("split", "blocks") if rule.get("rule") == "whole site" else "blocks"
        by_split.setdefault(str(split), []).append(name)
    return by_split


def _curve(history: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """Per epoch: training loss and validation IoU (what the convergence column reads)."""
    keys = ("loss", "val_loss", "val_iou")
    return [
        {"epoch": int(logs.get("epoch", index)) + 1, **{k: logs[k] for k in keys if k in logs}}
        for index, logs in enumerate(history)
    ]


def _cost(architecture: BenchmarkArchitecture) -> dict[str, float]:
    import torch

    from forestgaps_engine.models import create
    from forestgaps_engine.models.summary import activation_bytes, count_parameters, gflops_per_tile

    torch.manual_seed(0)
    model = create(architecture.name, **architecture.params)
    return {
        "param_count": count_parameters(model),
        "gflops_per_256_tile": round(gflops_per_tile(model, 256), 4),
        "activation_mb_per_256_tile": round(activation_bytes(model, 256) / 2**20, 2),
    }


def _run_one(
    config: ForestGapsConfig,
    architecture: BenchmarkArchitecture,
    prepared: Path,
    run_dir: Path,
    sites: list[Any],
    real_sites: list[SiteConfig],
    speed_site: Any,
    thresholds_m: list[float],
    settings: BenchmarkSettings,
    reporter: Reporter,
    cancel: CancelCallback | None,
) -> dict[str, Any]:
    run_config = config.updated(
        model={"name": architecture.name, "params": dict(architecture.params)},
        training={"output_dir": str(run_dir / "training")},
    )
    is_resume = (run_dir / "training" / "checkpoints" / "last.pt").is_file()
    trained = train(
        run_config,
        prepared,
        resume=is_resume,
        progress=reporter.sub(0.0, 0.8).report,
        cancel=cancel,
    )
    reporter.report(0.8, f"{architecture.run_name}: scoring on held-out sites")
    scores = score_on_sites(
        sites,
        trained.model_dir,
        thresholds_m,
        run_dir / "evaluation",
        config.gaps,
        config.inference,
    )
    speed = inference_speed(
        speed_site,
        trained.model_dir,
        settings.speed_threshold_m,
        run_dir / "speed",
        config.inference,
    )
    real = None
    if real_sites:
        reporter.report(0.9, f"{architecture.run_name}: scoring on held-out real sites")
        scored = config.updated(data={"sites": list(real_sites)})
        report = evaluate_real_sites(trained.model_dir, scored, run_dir / "real", thresholds_m)
        real = {"sites": [row["site"] for row in report.rows], "pooled": report.pooled}
    return {
        "run": architecture.run_name,
        "architecture": architecture.name,
        "params": architecture.params,
        **_cost(architecture),
        "training": {
            "epochs_run": trained.epochs_run,
            "duration_s": round(trained.duration_s, 1),
            "is_resumed": is_resume,
            "val_metrics": {k: v for k, v in trained.metrics.items() if "_t" not in k},
            "curve": _curve(trained.history),
        },
        "sites": _fold_sites(prepared),
        "inference": speed,
        "scores": scores[METHOD_MODEL],
        "real": real,
        "model_dir": str(trained.model_dir),
    }


def run_benchmark(
    config: ForestGapsConfig,
    settings: BenchmarkSettings,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> BenchmarkResult:
    """Train and score every architecture of ``settings``; skip runs already finished.

    Args:
        config: data, training budget (epochs, steps per epoch), gaps and inference.
        settings: architectures, folds, held-out seeds, output and report paths.
        progress: ``progress(fraction, message)``.
        cancel: returns True to stop (finished runs stay).

    Returns:
        The output folder, the report and every run's ``result.json`` content.

    Raises:
        ConfigError: no synthetic sites, evaluation seeds among training seeds, duplicates.
        DataError, TrainingError, ModelError, InferenceError: from the engine steps.
    """
    check_benchmark(config, settings)
    reporter = Reporter(progress, cancel)
    out = ensure_writable_dir(settings.output_dir)
    thresholds_m = settings.eval_thresholds_m or list(config.gaps.thresholds_m)
    resolution_m = config.data.resolution_m or config.synth.resolution_m
    sites = heldout_sites(
        out / "heldout_sites",
        settings.eval_seeds,
        settings.eval_size_px,
        resolution_m,
        config.synth.crs,
    )
    # Its own larger DSM: on a small one, model loading would dominate the timing.
    (speed_site,) = heldout_sites(
        out / "speed_site",
        settings.eval_seeds[:1],
        settings.speed_size_px,
        resolution_m,
        config.synth.crs,
    )
    baselines_path = out / "baselines.json"
    if not baselines_path.is_file():
        reporter.report(0.0, "scoring the baselines on the held-out sites")
        write_json_atomic(
            baselines_path,
            score_on_sites(sites, None, thresholds_m, out / "baselines", config.gaps),
        )
    real_folds = real_site_folds(settings)
    jobs = [(fold, item) for fold in range(settings.n_folds) for item in settings.architectures]
    results, skipped = [], []
    for index, (fold, architecture) in enumerate(jobs):
        name = architecture.run_name + (f"_fold{fold}" if settings.n_folds > 1 else "")
        run_dir = out / "runs" / name
        result_path = run_dir / RESULT_FILE
        if result_path.is_file():
            logger.info("%s: finished before, skipped (%s)", name, result_path)
            results.append(json.loads(result_path.read_text("utf-8")))
            skipped.append(name)
            continue
        step = reporter.sub(index / len(jobs), 1.0 / len(jobs))
        step.report(0.0, f"{name}: preparing data")
        # One fold alone has nothing to train on that it is not scored on: it only scores.
        trained_on = [s for k, f in enumerate(real_folds) if k != fold for s in f]
        prepared = _prepared(config, settings, fold, out, trained_on)
        result = _run_one(
            config,
            architecture,
            prepared,
            run_dir,
            sites,
            real_folds[fold],
            speed_site,
            thresholds_m,
            settings,
            step,
            cancel,
        )
        result["fold"] = fold
        write_json_atomic(result_path, result)
        logger.info("%s: done (%s)", name, result_path)
        results.append(result)
    report = None
    if settings.report:
        report = write_benchmark_report(config, settings, results, baselines_path, sites)
    reporter.report(1.0, "done")
    return BenchmarkResult(out, report, tuple(results), tuple(skipped))


def _fold_curve(result: dict[str, Any], run_dir: Path) -> list[float]:
    """Validation IoU per epoch of one run (from result.json, else its last checkpoint)."""
    from forestgaps_engine.training.state import load_checkpoint  # imports torch

    curve = result["training"].get("curve")
    checkpoint = run_dir / "training" / "checkpoints" / "last.pt"
    if curve is None and checkpoint.is_file():
        curve = _curve(load_checkpoint(checkpoint).get("history", []))
    return [float(item["val_iou"]) for item in curve or [] if "val_iou" in item]


def _averaged(
    results: Sequence[dict[str, Any]], settings: BenchmarkSettings
) -> list[dict[str, Any]]:
    """One row per architecture: scores and costs as mean and sd over its folds."""
    by_run: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_run.setdefault(result["run"], []).append(result)
    runs_dir = Path(settings.output_dir) / "runs"
    rows = []
    for run, items in by_run.items():
        first = items[0]
        scores = {
            t: {m: mean_sd([i["scores"][t][m] for i in items])[0] for m in first["scores"][t]}
            for t in first["scores"]
        }
        fold_means = {
            metric: mean_sd([mean_over_thresholds(i["scores"], metric) for i in items])
            for metric in MEAN_METRICS
        }
        curves = [
            _fold_curve(i, runs_dir / (run + (f"_fold{i['fold']}" if len(items) > 1 else "")))
            for i in items
        ]
        rows.append(
            {
                **_real_means(items),
                "run": run,
                "architecture": first["architecture"],
                "params_m": first["param_count"] / 1e6,
                "gflops": first["gflops_per_256_tile"],
                "activation_mb": first["activation_mb_per_256_tile"],
                "train_s": mean_sd([i["training"]["duration_s"] for i in items])[0] or 0.0,
                "epochs": max(i["training"]["epochs_run"] for i in items),
                "mpix_per_s": mean_sd([i["inference"]["mpix_per_s"] for i in items])[0] or 0.0,
                "scores": scores,
                "fold_means": fold_means,
                "convergence": convergence(
                    curves, settings.convergence_tail_fraction, settings.convergence_tolerance_iou
                ),
                "curves": curves,
                "n_folds": len(items),
            }
        )
    return rows


def _real_means(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Held-out real-site IoU of one architecture's folds: per threshold and overall.

    ``real_iou`` and ``real_gain`` (model minus the DSM-only baseline on the same sites,
    fold by fold) are mean and sd over folds of the mean over thresholds; ``real_scores``
    holds each method's per-threshold IoU averaged over the folds.
    """
    pooled = [item["real"]["pooled"] for item in items if item.get("real")]
    if not pooled:
        return {}

    def over_thresholds(scores: dict[str, float | None]) -> float:
        mean = mean_sd(list(scores.values()))[0]
        return math.nan if mean is None else mean

    model = [over_thresholds(p[METHOD_MODEL]) for p in pooled]
    baseline = [over_thresholds(p[METHOD_BASELINE]) for p in pooled]
    return {
        "real_iou": mean_sd(model),
        "real_gain": mean_sd([m - b for m, b in zip(model, baseline, strict=True)]),
        "real_baseline_iou": mean_sd(baseline),
        "real_scores": {
            method: {
                label: {"iou": mean_sd([p[method][label] for p in pooled])[0]}
                for label in pooled[0][method]
            }
            for method in (METHOD_MODEL, METHOD_BASELINE)
        },
        "real_folds": len(pooled),
    }


def write_benchmark_report(
    config: ForestGapsConfig,
    settings: BenchmarkSettings,
    results: Sequence[dict[str, Any]],
    baselines_path: Path,
    sites: Sequence[Any],
) -> Path:
    """Write the benchmark section (and its figures beside the report) from the results."""
    import torch

    target = Path(settings.report or Path(settings.output_dir) / "benchmark.md")
    baselines = json.loads(baselines_path.read_text("utf-8"))
    baselines.pop(METHOD_MODEL, None)
    data = config.data
    real = {
        fold: [site.name for site in sites_of_fold]
        for fold, sites_of_fold in enumerate(real_site_folds(settings))
    }
    budget = {
        "machine": f"{cpu_name()} ({platform.machine()}), {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}, {platform.platform()}",
        "training data": f"{data.synthetic_sites} synthetic sites of {config.synth.size_px} px "
        f"at {config.synth.resolution_m:g} m per fold"
        + (
            " plus the real sites of the other folds (real sites dealt by source; fold "
            + "; fold ".join(
                f"{fold}: {', '.join(names) or 'none'}" for fold, names in real.items()
            )
            + ")"
            if any(real.values())
            else ""
        )
        + f", split by site {data.split.train:g}/{data.split.val:g}/{data.split.test:g}, "
        f"{data.tile_size_px} px tiles",
        "training budget": f"{config.training.epochs} epochs of batch "
        f"{config.training.batch_size}"
        + (
            f", at most {config.training.max_steps_per_epoch} steps per epoch"
            if config.training.max_steps_per_epoch
            else ""
        )
        + f", early stopping patience {config.training.early_stopping_patience_epochs}",
        "folds": f"{settings.n_folds}; runs finished: {len(results)} of "
        f"{settings.n_folds * len(settings.architectures)}",
        "held-out sites": f"{len(sites)} synthetic sites of {settings.eval_size_px} px, seeds "
        + ", ".join(str(site.seed) for site in sites)
        + ("; and each fold's own real sites" if any(real.values()) else ""),
        "prediction speed": f"one `predict` call (model loading included) on a "
        f"{settings.speed_size_px}² px held-out DSM at {settings.speed_threshold_m:g} m, "
        f"inference tile {config.inference.tile_size_px} px, batch "
        f"{config.inference.batch_size}",
    }
    figure_dir = target.parent / target.stem
    text = benchmark_markdown(
        _averaged(results, settings), baselines, budget, figure_dir, target.parent
    )
    return write_marked_section(target, SECTION, text, title="Benchmark")

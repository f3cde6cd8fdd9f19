"""The benchmark's markdown and figures: a comparative table, per-threshold IoU, plots.

The generated text goes into its own marked section of the target file
(``evaluation.marked_section``), so hand-written sections survive a rerun.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.evaluation.plots import bar_chart_png, line_chart_png
from forestgaps_engine.evaluation.real_sites import METHOD_BASELINE, METHOD_MODEL, fmt_score

MEAN_METRICS = ("iou", "f1", "object_f1", "boundary_f1", "grid_r2")


def mean_over_thresholds(scores: Mapping[str, Mapping[str, float | None]], metric: str) -> float:
    """Mean of one metric over the thresholds that define it (NaN when none does)."""
    values = [row[metric] for row in scores.values() if row.get(metric) is not None]
    return statistics.fmean(values) if values else math.nan


def mean_sd(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the defined, finite values (sd None for one)."""
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not kept:
        return None, None
    return statistics.fmean(kept), statistics.stdev(kept) if len(kept) > 1 else None


def convergence(
    curves: Sequence[Sequence[float]], tail_fraction: float, tolerance_iou: float
) -> dict[str, Any]:
    """Whether validation IoU stopped moving over the last ``tail_fraction`` of the epochs.

    Per fold, the change is the mean validation IoU of the last ``n_tail = ceil(tail_fraction
    * epochs)`` epochs minus the mean of the ``n_tail`` epochs before them: means, because
    one epoch's IoU on a few validation sites moves by about 0.02 from noise alone, so a
    difference of two single epochs cannot tell a flat curve from a rising one. The run is
    ``flat`` when every fold moved by at most ``tolerance_iou``.

    Returns:
        ``change`` (mean signed change over folds), ``max_abs_change``, ``is_flat``
        (None when no fold has two tails of epochs) and ``tail_epochs``.
    """
    changes, tails = [], []
    for curve in curves:
        n_tail = max(1, math.ceil(tail_fraction * len(curve)))
        if len(curve) >= 2 * n_tail:
            last, before = curve[-n_tail:], curve[-2 * n_tail : -n_tail]
            changes.append(statistics.fmean(last) - statistics.fmean(before))
            tails.append(n_tail)
    if not changes:
        return {"change": None, "max_abs_change": None, "is_flat": None, "tail_epochs": None}
    largest = max(abs(change) for change in changes)
    return {
        "change": sum(changes) / len(changes),
        "max_abs_change": largest,
        "is_flat": largest <= tolerance_iou,
        "tail_epochs": max(tails),
    }


def _pm(pair: tuple[float | None, float | None], sign: str = "") -> str:
    """``mean ± sd`` to 3 decimals; ``sign="+"`` writes the mean's sign always."""
    mean, sd = pair
    if mean is None:
        return "-"
    return f"{mean:{sign}.3f}" + (f" ± {sd:.3f}" if sd is not None else "")


def _converged(info: Mapping[str, Any]) -> str:
    if info.get("is_flat") is None:
        return "-"
    word = "flat" if info["is_flat"] else "**not flat**"
    return f"{info['change']:+.3f} ({word})"


def threshold_table(
    methods: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    thresholds: Sequence[str],
    metric: str = "iou",
) -> str:
    """A markdown table: one row per method, one column per threshold."""
    lines = [
        f"| method | {' | '.join(f'{metric} @ {t} m' for t in thresholds)} |",
        "|---|" + "---:|" * len(thresholds),
    ]
    for method, scores in methods.items():
        cells = [fmt_score((scores.get(t) or {}).get(metric)) for t in thresholds]
        lines.append(f"| `{method}` | {' | '.join(cells)} |")
    return "\n".join(lines)


def _choices(rows: list[dict[str, Any]]) -> list[str]:
    def best(key: str, reverse: bool = True) -> dict[str, Any]:
        finite = [row for row in rows if math.isfinite(row[key])]
        return sorted(finite, key=lambda row: row[key], reverse=reverse)[0]

    accurate, fastest = best("mean_iou"), best("mpix_per_s")
    lightest = best("activation_mb", reverse=False)
    cheapest = best("gflops", reverse=False)
    # Real sites answer the question where they were scored; synthetic ones otherwise.
    for row in rows:
        real_mean = (row.get("real_iou") or (None, None))[0]
        row["real_mean_iou"] = math.nan if real_mean is None else real_mean
    has_real = any(math.isfinite(row["real_mean_iou"]) for row in rows)
    accuracy_key = "real_mean_iou" if has_real else "mean_iou"
    for row in rows:
        row["iou_per_gflop"] = row[accuracy_key] / max(row["gflops"], 1e-6)
    efficient = best("iou_per_gflop")
    where = "held-out real sites" if has_real else "held-out synthetic sites"

    def flat(row: dict[str, Any]) -> str:
        is_flat = row["convergence"]["is_flat"]
        return "" if is_flat is None or is_flat else ", validation IoU not flat"

    real_line = []
    if has_real:
        real_best = best("real_mean_iou")
        real_line = [
            f"- **Accuracy first on real forests**: `{real_best['run']}` (real IoU "
            f"{_pm(real_best['real_iou'])}, {_pm(real_best['real_gain'], '+')} against the "
            f"DSM-only baseline{flat(real_best)})."
        ]
    return real_line + [
        f"- **Accuracy first on synthetic forests**: `{accurate['run']}` (mean IoU "
        f"{_pm(accurate['fold_means']['iou'])}{flat(accurate)}).",
        f"- **CPU speed first** (QGIS on a laptop): `{fastest['run']}` "
        f"({fastest['mpix_per_s']:.2f} MPix/s, mean IoU {fastest['mean_iou']:.3f}).",
        f"- **Least compute**: `{cheapest['run']}` ({cheapest['gflops']:.2f} GFLOPs per "
        f"256² tile, {cheapest['params_m']:.2f} M parameters).",
        f"- **Least training memory**: `{lightest['run']}` "
        f"({lightest['activation_mb']:.0f} MB of activations per 256² tile).",
        f"- **Accuracy per compute**: `{efficient['run']}` "
        f"({efficient['iou_per_gflop']:.3f} mean IoU per GFLOP, {where}).",
    ]


def benchmark_markdown(
    runs: list[dict[str, Any]],
    baselines: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    budget: Mapping[str, Any],
    figure_dir: Path,
    doc_dir: Path,
) -> str:
    """The benchmark section: budget, comparison table, choices, IoU per threshold, figures.

    Args:
        runs: per architecture (folds averaged): ``run``, ``architecture``, ``params_m``,
            ``gflops``, ``activation_mb``, ``train_s``, ``epochs``, ``mpix_per_s``,
            ``scores`` (threshold -> metric -> value), ``n_folds``.
        baselines: ``dsm_only`` / ``chm_threshold`` scores on the same held-out sites.
        budget: facts printed as the measured budget.
        figure_dir: where the PNGs go.
        doc_dir: folder of the markdown (figure links are relative to it).
    """
    for row in runs:
        row["mean_iou"] = mean_over_thresholds(row["scores"], "iou")
    thresholds = sorted(
        {t for row in runs for t in row["scores"]} | {t for s in baselines.values() for t in s},
        key=float,
    )
    lines = ["## Architecture benchmark", "", "### Budget (what was measured, and how)", ""]
    lines += [f"- {key}: {value}" for key, value in budget.items()]
    n_folds = max((row["n_folds"] for row in runs), default=1)
    real_rows = [row for row in runs if row.get("real_iou")]
    # Every run of a fold meets the same baseline; the run with the most folds has them all.
    real_reference = max(real_rows, key=lambda row: row["real_folds"], default=None)
    lines += [
        "",
        "Every architecture is trained on the same prepared tiles with the same epochs and "
        "scored on the same held-out synthetic sites (seeds never used in training)"
        + (
            " and on its fold's real sites, whose sources it never saw (*real IoU*; "
            "*real gain* is the model minus the DSM-only baseline on those sites, fold by "
            "fold)"
            if real_rows
            else ""
        )
        + f". Scores are mean ± sd over the {n_folds} fold(s) (each fold's score is the mean "
        "over thresholds, pixel scores pooled over sites). *val IoU change* is the mean "
        "validation IoU of the last quarter of the epochs minus that of the quarter before "
        "(mean over folds): *flat* when every fold moved by at most the tolerance, "
        "otherwise its validation IoU was still moving when the budget ended.",
        "",
        "### Comparison",
        "",
        "| model | params (M) | GFLOPs / 256² | train act. MB / 256² | MPix/s (predict) | "
        "train s | epochs | folds | IoU | F1 | object F1 | boundary F1 | grid R² | "
        "real IoU | real gain | val IoU change, last 25 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in runs:
        means = [_pm(row["fold_means"][m]) for m in MEAN_METRICS]
        lines.append(
            f"| `{row['run']}` | {row['params_m']:.2f} | {row['gflops']:.2f} | "
            f"{row['activation_mb']:.0f} | {row['mpix_per_s']:.2f} | {row['train_s']:.0f} | "
            f"{row['epochs']} | {row['n_folds']} | {' | '.join(means)} | "
            f"{_pm(row.get('real_iou') or (None, None))} | "
            f"{_pm(row.get('real_gain') or (None, None), '+')} | "
            f"{_converged(row['convergence'])} |"
        )
    for name, scores in baselines.items():
        means = [fmt_score(mean_over_thresholds(scores, m)) for m in MEAN_METRICS]
        real = (
            _pm(real_reference["real_baseline_iou"])
            if real_reference is not None and name == METHOD_BASELINE
            else "-"
        )
        lines.append(
            f"| `{name}` baseline | - | - | - | - | - | - | - | {' | '.join(means)} | {real} | "
            "- | - |"
        )
    lines += ["", "### Which model for which constraint", ""]
    lines += _choices(runs) if runs else ["- no finished run"]
    methods = {row["run"]: row["scores"] for row in runs}
    methods.update(baselines)
    lines += ["", "### IoU per threshold", "", threshold_table(methods, thresholds, "iou")]
    if real_reference is not None:
        real_methods = {row["run"]: row["real_scores"][METHOD_MODEL] for row in real_rows}
        real_methods[METHOD_BASELINE] = real_reference["real_scores"][METHOD_BASELINE]
        real_thresholds = sorted(real_methods[METHOD_BASELINE], key=float)
        lines += ["", "### IoU per threshold on the held-out real sites (mean over folds)", ""]
        lines.append(threshold_table(real_methods, real_thresholds, "iou"))
    lines += ["", "### Object F1 per threshold", ""]
    lines.append(threshold_table(methods, thresholds, "object_f1"))
    figures = _figures(runs, baselines, figure_dir)
    lines += ["", "### Figures", ""]
    lines += [f"![{name}]({path.relative_to(doc_dir).as_posix()})" for name, path in figures]
    lines += [
        "",
        "`chm_threshold` is ForestGapR on the true CHM, i.e. the labels themselves: it is "
        "the ceiling (1.0), not a competitor. `dsm_only` estimates the ground from the DSM "
        "alone (grey opening) without learning: the bar a model must clear.",
    ]
    return "\n".join(lines) + "\n"


def _figures(
    runs: list[dict[str, Any]],
    baselines: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    figure_dir: Path,
) -> list[tuple[str, Path]]:
    figure_dir.mkdir(parents=True, exist_ok=True)
    names = [row["run"] for row in runs] + [f"{name} (baseline)" for name in baselines]
    all_scores = [row["scores"] for row in runs] + list(baselines.values())
    accuracy = {
        metric: [mean_over_thresholds(scores, metric) for scores in all_scores]
        for metric in ("iou", "f1", "object_f1", "boundary_f1")
    }
    figures = [
        (
            "mean scores",
            bar_chart_png(
                figure_dir / "accuracy.png",
                names,
                accuracy,
                "Held-out synthetic sites: mean over thresholds",
                "score",
                "method",
            ),
        )
    ]
    if runs:
        fastest = max(row["mpix_per_s"] for row in runs) or 1.0
        lightest = min(row["activation_mb"] for row in runs) or 1.0
        cheapest = min(row["gflops"] for row in runs) or 1.0
        cost = {
            "mean IoU": [row["mean_iou"] for row in runs],
            "CPU speed (fastest = 1)": [row["mpix_per_s"] / fastest for row in runs],
            "memory thrift (least = 1)": [lightest / row["activation_mb"] for row in runs],
            "compute thrift (least = 1)": [cheapest / row["gflops"] for row in runs],
        }
        curves = {row["run"]: _mean_curve(row["curves"]) for row in runs if any(row["curves"])}
        if curves:
            longest = max(len(ys) for ys in curves.values())
            figures.append(
                (
                    "validation IoU per epoch",
                    line_chart_png(
                        figure_dir / "curves.png",
                        {
                            name: ([(i + 1) / longest for i in range(len(ys))], ys)
                            for name, ys in curves.items()
                        },
                        f"Validation IoU per epoch, mean over folds ({longest} epochs = 1.0)",
                        "fraction of the training budget",
                        "validation IoU",
                    ),
                )
            )
        figures.append(
            (
                "accuracy against cost",
                bar_chart_png(
                    figure_dir / "cost.png",
                    [row["run"] for row in runs],
                    cost,
                    "Accuracy and relative costs (higher is better)",
                    "relative value",
                    "architecture",
                ),
            )
        )
    return figures


def _mean_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    """Epoch-wise mean of the folds' curves, over the folds that reached each epoch."""
    length = max((len(curve) for curve in curves), default=0)
    return [
        sum(curve[i] for curve in curves if len(curve) > i)
        / sum(1 for curve in curves if len(curve) > i)
        for i in range(length)
    ]

"""The benchmark's markdown and figures: a comparative table, per-threshold IoU, plots.

The generated text goes between ``<!-- NAME:begin -->`` / ``<!-- NAME:end -->`` markers of
the target file, so hand-written sections of the same document survive a rerun.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forestgaps_engine.evaluation.plots import bar_chart_png
from forestgaps_engine.files import atomic_path

MEAN_METRICS = ("iou", "f1", "object_f1", "boundary_f1", "grid_r2")


def write_marked_section(target: str | Path, name: str, text: str, title: str = "") -> Path:
    """Replace the ``name`` section of a markdown file (appended when absent, file created).

    Args:
        target: markdown file.
        name: marker name (``benchmark``, ``default-model``).
        text: the section's new content.
        title: first line of a new file.
    """
    path = Path(target)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    current = path.read_text("utf-8") if path.is_file() else (f"# {title}\n" if title else "")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _match: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp_path:
        temp_path.write_text(updated, "utf-8")
    return path


def mean_over_thresholds(scores: Mapping[str, Mapping[str, float | None]], metric: str) -> float:
    """Mean of one metric over the thresholds that define it (NaN when none does)."""
    values = [row[metric] for row in scores.values() if row.get(metric) is not None]
    return sum(values) / len(values) if values else math.nan


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


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
        cells = [_fmt((scores.get(t) or {}).get(metric)) for t in thresholds]
        lines.append(f"| `{method}` | {' | '.join(cells)} |")
    return "\n".join(lines)


def _choices(rows: list[dict[str, Any]]) -> list[str]:
    def best(key: str, reverse: bool = True) -> dict[str, Any]:
        finite = [row for row in rows if math.isfinite(row[key])]
        return sorted(finite, key=lambda row: row[key], reverse=reverse)[0]

    accurate, fastest = best("mean_iou"), best("mpix_per_s")
    lightest = best("activation_mb", reverse=False)
    for row in rows:
        row["iou_per_gflop"] = row["mean_iou"] / max(row["gflops"], 1e-6)
    efficient = best("iou_per_gflop")
    return [
        f"- **Accuracy first**: `{accurate['run']}` (mean IoU {accurate['mean_iou']:.3f}).",
        f"- **CPU speed first** (QGIS on a laptop): `{fastest['run']}` "
        f"({fastest['mpix_per_s']:.2f} MPix/s, mean IoU {fastest['mean_iou']:.3f}).",
        f"- **Least training memory**: `{lightest['run']}` "
        f"({lightest['activation_mb']:.0f} MB of activations per 256² tile).",
        f"- **Accuracy per compute**: `{efficient['run']}` "
        f"({efficient['iou_per_gflop']:.3f} mean IoU per GFLOP).",
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
    lines += [
        "",
        "Every architecture is trained on the same prepared tiles with the same epochs and "
        "scored on the same held-out synthetic sites (seeds never used in training). Such "
        "a small CPU budget under-trains the bigger models most: read the table as a "
        "ranking under this budget, not as each architecture's ceiling.",
        "",
        "### Comparison (means over thresholds; pixel scores pooled over sites)",
        "",
        "| model | params (M) | GFLOPs / 256² | train act. MB / 256² | train s | epochs | "
        "MPix/s (predict) | IoU | F1 | object F1 | boundary F1 | grid R² |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in runs:
        means = [_fmt(mean_over_thresholds(row["scores"], m)) for m in MEAN_METRICS]
        lines.append(
            f"| `{row['run']}` | {row['params_m']:.2f} | {row['gflops']:.2f} | "
            f"{row['activation_mb']:.0f} | {row['train_s']:.0f} | {row['epochs']} | "
            f"{row['mpix_per_s']:.2f} | {' | '.join(means)} |"
        )
    for name, scores in baselines.items():
        means = [_fmt(mean_over_thresholds(scores, m)) for m in MEAN_METRICS]
        lines.append(f"| `{name}` baseline | - | - | - | - | - | - | {' | '.join(means)} |")
    lines += ["", "### Which model for which constraint", ""]
    lines += _choices(runs) if runs else ["- no finished run"]
    methods = {row["run"]: row["scores"] for row in runs}
    methods.update(baselines)
    lines += ["", "### IoU per threshold", "", threshold_table(methods, thresholds, "iou")]
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

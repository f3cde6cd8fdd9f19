"""Evaluation outputs: CSV tables, bar charts, the PR curve, ``report.md`` and a JSON dump.

Files (all atomic): ``metrics.csv`` (one row per method x threshold), ``objects_by_size.csv``,
``bias.csv``, ``iou_by_threshold.png``, ``f1_by_threshold.png``, ``pr_curve.png`` (when a
probability raster was scored), ``evaluation.json`` and ``report.md`` that ties them together.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.evaluation.plots import bar_chart_png, line_chart_png
from forestgaps_engine.evaluation.scoring import MethodScores
from forestgaps_engine.files import atomic_path, write_json_atomic, write_text_atomic

REPORT_FILE = "report.md"


@dataclass(frozen=True)
class ReportFiles:
    """Paths of what ``write_report`` wrote (PNG list includes the error maps passed in)."""

    report: Path
    metrics_csv: Path
    objects_csv: Path
    bias_csv: Path
    json: Path
    figures: tuple[Path, ...]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def write_csv(target: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write dict rows (same keys) as CSV, atomically; None becomes an empty cell."""
    with atomic_path(target) as temp_path:
        with temp_path.open("w", newline="", encoding="utf-8") as handle:
            fields = list(rows[0]) if rows else []
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return Path(target)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _charts(out: Path, scores: Sequence[MethodScores]) -> list[Path]:
    methods = list(dict.fromkeys(item.method for item in scores))
    thresholds = sorted({item.threshold_m for item in scores})
    by_key = {(item.method, item.threshold_m): item for item in scores}
    groups = [f"{t:g} m" for t in thresholds]
    figures = []
    for metric in ("iou", "f1"):
        series = {
            method: [
                getattr(by_key[(method, t)].pixel, metric) if (method, t) in by_key else None
                for t in thresholds
            ]
            for method in methods
        }
        figures.append(
            bar_chart_png(
                out / f"{metric}_by_threshold.png",
                groups,
                series,
                f"Pixel {metric.upper()} by threshold, every method side by side",
                metric.upper(),
            )
        )
    curves = {
        f"{item.method} {item.threshold_m:g} m (AP {item.pr_curve.average_precision:.2f})": (
            item.pr_curve.recall,
            item.pr_curve.precision,
        )
        for item in scores
        if item.pr_curve is not None
    }
    if curves:
        figures.append(
            line_chart_png(
                out / "pr_curve.png",
                curves,
                "Precision-recall of the gap probability",
                "recall",
                "precision",
            )
        )
    return figures


def _markdown(
    scores: Sequence[MethodScores],
    context: Mapping[str, Any],
    figures: Sequence[Path],
    error_maps: Sequence[Path],
) -> str:
    lines = ["# ForestGaps evaluation", ""]
    for key, value in context.get("inputs", {}).items():
        lines.append(f"- **{key}**: {value}")
    lines.append("")
    for note in context.get("notes", []):
        lines.append(f"> {note}")
        lines.append("")
    lines += [
        "## Pixel scores (valid cells only)",
        "",
        "| threshold | method | IoU | F1 | precision | recall | accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    ordered = sorted(scores, key=lambda s: s.threshold_m)
    for item in ordered:
        p = item.pixel
        lines.append(
            f"| {item.threshold_m:g} m | {item.method} | {_fmt(p.iou)} | {_fmt(p.f1)} | "
            f"{_fmt(p.precision)} | {_fmt(p.recall)} | {_fmt(p.accuracy)} |"
        )
    lines += [
        "",
        "## Objects, outlines, 100 m cells and size laws",
        "",
        "Gaps match one to one at IoU >= 0.5 (unique above 0.5; ties at exactly 0.5 are "
        "resolved greedily). Boundary F1 uses a tolerance of "
        f"{ordered[0].boundary.tolerance_px:g} px. Gap fractions are compared on "
        f"{ordered[0].grid.cell_size_m:g} m cells (R2 = coefficient of determination).",
        "",
        "| threshold | method | obj P | obj R | obj F1 | gaps ref/pred | boundary F1 | "
        "cell R2 | cell RMSE | cell bias | λ Hanel ref/pred | λ Asner ref/pred |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item in ordered:
        o, g, s = item.objects.overall, item.grid, item.size_frequency
        lines.append(
            f"| {item.threshold_m:g} m | {item.method} | {_fmt(o.precision)} | {_fmt(o.recall)} | "
            f"{_fmt(o.f1)} | {o.n_reference}/{o.n_predicted} | {_fmt(item.boundary.f1)} | "
            f"{_fmt(g.r2)} | {_fmt(g.rmse)} | {_fmt(g.bias)} | "
            f"{_fmt(s.hanel_reference, 2)}/{_fmt(s.hanel_predicted, 2)} | "
            f"{_fmt(s.asner_reference, 2)}/{_fmt(s.asner_predicted, 2)} |"
        )
    labels = [counts.size_class for counts in ordered[0].objects.by_size]
    lines += [
        "",
        "## Object recall / precision by gap size (m²)",
        "",
        "Recall bins reference gaps by their area, precision bins predicted gaps by theirs "
        "(– = no gap in the class). Counts are in `objects_by_size.csv`.",
        "",
        "| threshold | method | " + " | ".join(f"{label} R / P" for label in labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for item in ordered:
        cells = [f"{_fmt(c.recall, 2)} / {_fmt(c.precision, 2)}" for c in item.objects.by_size]
        lines.append(f"| {item.threshold_m:g} m | {item.method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Where methods err (IoU by stratum; full table in `bias.csv`)",
        "",
        "| threshold | method | factor | stratum | valid px | IoU | gap fraction ref → pred |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in ordered:
        for row in item.bias:
            lines.append(
                f"| {item.threshold_m:g} m | {item.method} | {row.factor} | {row.stratum} | "
                f"{row.counts.total} | {_fmt(row.counts.iou)} | "
                f"{_fmt(row.reference_gap_fraction)} → {_fmt(row.predicted_gap_fraction)} |"
            )
    lines += ["", "## Figures", ""]
    for path in [*figures, *error_maps]:
        lines.append(f"![{path.stem}]({path.name})")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | Path,
    scores: Sequence[MethodScores],
    context: Mapping[str, Any],
    error_maps: Sequence[Path] = (),
) -> ReportFiles:
    """Write every table, chart and the markdown report into ``out_dir``.

    Args:
        out_dir: existing output folder.
        scores: one entry per method x threshold.
        context: ``inputs`` (name -> value shown at the top), ``notes`` (list of str) and
            anything JSON-ready to keep in ``evaluation.json``.
        error_maps: error-map PNGs already written in ``out_dir``, linked from the report.
    """
    if not scores:
        raise ValueError("write_report needs at least one scored method")
    out = Path(out_dir)
    # Each table is a CSV of its own name and a list of the same name in evaluation.json.
    tables = {
        "metrics": [item.metrics_row() for item in scores],
        "objects_by_size": [
            {"method": item.method, "threshold_m": item.threshold_m, **counts.to_dict()}
            for item in scores
            for counts in (item.objects.overall, *item.objects.by_size)
        ],
        "bias": [
            {"method": item.method, "threshold_m": item.threshold_m, **row.to_dict()}
            for item in scores
            for row in item.bias
        ],
    }
    metrics_csv, objects_csv, bias_csv = (
        write_csv(out / f"{name}.csv", rows) for name, rows in tables.items()
    )
    figures = _charts(out, scores)
    json_path = write_json_atomic(out / "evaluation.json", {**context, **tables})
    write_text_atomic(out / REPORT_FILE, _markdown(scores, context, figures, error_maps))
    return ReportFiles(
        report=out / REPORT_FILE,
        metrics_csv=metrics_csv,
        objects_csv=objects_csv,
        bias_csv=bias_csv,
        json=json_path,
        figures=(*figures, *error_maps),
    )

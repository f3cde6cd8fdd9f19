"""Report figures drawn with Matplotlib: error maps, grouped bar charts, curves.

Every PNG is written atomically, under the lock every ForestGaps plot draws under
(Matplotlib is not thread-safe and the service draws in worker threads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.gaps.size_plot import png_figure

# Colour-blind-safe (Okabe-Ito) series colours.
SERIES_COLOURS = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
)
ERROR_COLOURS = {
    "TP (gap found)": (0, 158, 115),
    "FP (false gap)": (213, 94, 0),
    "FN (missed gap)": (0, 114, 178),
    "TN (canopy)": (235, 235, 235),
    "nodata": (90, 90, 90),
}
CHART_SIZE_IN = (9.0, 5.2)


def _rgb(colour: tuple[int, int, int]) -> tuple[float, ...]:
    return tuple(channel / 255 for channel in colour)


def _series_colour(index: int) -> tuple[float, ...]:
    return _rgb(SERIES_COLOURS[index % len(SERIES_COLOURS)])


def _legend_outside(axes: Any) -> None:
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def error_map_png(
    target: str | Path,
    reference: np.ndarray,
    predicted: np.ndarray,
    valid: np.ndarray,
    title: str,
    max_size_px: int = 1000,
) -> Path:
    """Write a TP/FP/FN/TN map of one prediction, with a legend.

    Args:
        target: output .png.
        reference: (H, W) reference gap mask (bool or ids > 0).
        predicted: (H, W) predicted gap mask.
        valid: (H, W) bool.
        title: printed above the map.
        max_size_px: large rasters are subsampled (nearest) to at most this side.
    """
    from matplotlib.patches import Patch

    step = max(1, int(np.ceil(max(reference.shape) / max_size_px)))
    ref = (np.asarray(reference) > 0)[::step, ::step]
    pred = (np.asarray(predicted) > 0)[::step, ::step]
    keep = np.asarray(valid, dtype=bool)[::step, ::step]
    code = np.full(ref.shape, 3, dtype=np.uint8)
    code[pred & ref] = 0
    code[pred & ~ref] = 1
    code[~pred & ref] = 2
    code[~keep] = 4
    rgb = np.asarray(list(ERROR_COLOURS.values()), dtype=np.uint8)[code]
    height_in = min(12.0, 7.0 * rgb.shape[0] / rgb.shape[1] + 1.5)  # the map's aspect + legend
    with png_figure(target, (7.0, height_in)) as figure:
        axes = figure.add_subplot()
        # Nearest: each cell keeps its outcome's colour, however the map is scaled.
        axes.imshow(rgb, interpolation="nearest")
        axes.set_axis_off()
        axes.set_title(title)
        handles = [
            Patch(facecolor=_rgb(c), edgecolor="black", label=n) for n, c in ERROR_COLOURS.items()
        ]
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return Path(target)


def bar_chart_png(
    target: str | Path,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    y_label: str,
    x_label: str = "threshold",
) -> Path:
    """Grouped bars on a 0..1 axis: one group per entry of ``groups``, one bar per series.

    Args:
        target: output .png.
        groups: group names (e.g. ``2 m``, ``5 m``).
        series: series name -> one value (0..1, None = missing) per group.
        title: chart title.
        y_label: what the bars measure.
        x_label: what the groups are.
    """
    bar_w = 0.8 / max(1, len(series))
    with png_figure(target, CHART_SIZE_IN) as figure:
        axes = figure.add_subplot()
        for index, (name, values) in enumerate(series.items()):
            heights = np.array([np.nan if v is None else v for v in values], dtype=float)
            x = np.arange(len(groups)) - 0.4 + (index + 0.5) * bar_w
            shown = np.isfinite(heights)
            bars = axes.bar(x[shown], np.clip(heights[shown], 0, 1), bar_w * 0.95,
                            color=_series_colour(index), label=name)  # fmt: skip
            axes.bar_label(bars, labels=[f"{v:.2f}" for v in heights[shown]], fontsize=8)
        axes.set(xticks=range(len(groups)), xticklabels=groups, ylim=(0, 1.05),
                 title=title, xlabel=x_label, ylabel=y_label)  # fmt: skip
        axes.grid(axis="y", color="0.86")
        _legend_outside(axes)
    return Path(target)


def line_chart_png(
    target: str | Path,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    x_label: str,
    y_label: str,
) -> Path:
    """Curves on a 0..1 x 0..1 plot (e.g. precision against recall); NaN points are skipped.

    Args:
        target: output .png.
        curves: name -> (x values, y values).
        title: chart title.
        x_label: x axis name.
        y_label: y axis name.
    """
    with png_figure(target, CHART_SIZE_IN) as figure:
        axes = figure.add_subplot()
        for index, (name, (xs, ys)) in enumerate(curves.items()):
            x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
            finite = np.isfinite(x) & np.isfinite(y)
            axes.plot(x[finite], y[finite], color=_series_colour(index), linewidth=3, label=name)
        axes.set(xlim=(0, 1), ylim=(0, 1), title=title, xlabel=x_label, ylabel=y_label)
        axes.grid(color="0.86")
        _legend_outside(axes)
    return Path(target)

"""Report figures drawn with Pillow alone: error maps, grouped bar charts, curves.

Matplotlib is not a dependency of the plugin; these few plain figures do not need it.
Every PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.files import atomic_path

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
WIDTH_PX, HEIGHT_PX = 900, 520
MARGIN = {"left": 70, "right": 200, "top": 50, "bottom": 60}


def _font(size: int) -> Any:
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "Arial.ttf", "LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def _save(image: Any, target: str | Path) -> Path:
    with atomic_path(target) as temp_path:
        image.save(temp_path, format="PNG")
    return Path(target)


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
    from PIL import Image, ImageDraw

    step = max(1, int(np.ceil(max(reference.shape) / max_size_px)))
    ref = (np.asarray(reference) > 0)[::step, ::step]
    pred = (np.asarray(predicted) > 0)[::step, ::step]
    keep = np.asarray(valid, dtype=bool)[::step, ::step]
    colours = list(ERROR_COLOURS.values())
    code = np.full(ref.shape, 3, dtype=np.uint8)
    code[pred & ref] = 0
    code[pred & ~ref] = 1
    code[~pred & ref] = 2
    code[~keep] = 4
    # Small rasters are enlarged (whole pixels, nearest) so single cells stay visible.
    zoom = max(1, 500 // max(code.shape))
    code = np.repeat(np.repeat(code, zoom, axis=0), zoom, axis=1)
    rgb = np.asarray(colours, dtype=np.uint8)[code]
    legend_h, title_h = 30 * len(colours) // 2 + 20, 36
    height, width = rgb.shape[:2]
    canvas = Image.new("RGB", (max(width, 480) + 20, height + title_h + legend_h), "white")
    canvas.paste(Image.fromarray(rgb, "RGB"), (10, title_h))
    draw = ImageDraw.Draw(canvas)
    draw.text((10, 8), title, fill="black", font=_font(16))
    font = _font(13)
    for index, (name, colour) in enumerate(ERROR_COLOURS.items()):
        x = 10 + (index % 3) * 160
        y = title_h + height + 10 + (index // 3) * 26
        draw.rectangle([x, y, x + 16, y + 16], fill=colour, outline="black")
        draw.text((x + 22, y), name, fill="black", font=font)
    return _save(canvas, target)


def _axes(draw: Any, title: str, y_label: str, x_label: str) -> tuple[int, int, int, int]:
    left, top = MARGIN["left"], MARGIN["top"]
    right, bottom = WIDTH_PX - MARGIN["right"], HEIGHT_PX - MARGIN["bottom"]
    font = _font(12)
    draw.text((left, 14), title, fill="black", font=_font(16))
    for tick in np.linspace(0.0, 1.0, 6):
        y = bottom - tick * (bottom - top)
        draw.line([left, y, right, y], fill=(220, 220, 220))
        draw.text((left - 36, y - 7), f"{tick:.1f}", fill="black", font=font)
    draw.line([left, top, left, bottom], fill="black")
    draw.line([left, bottom, right, bottom], fill="black")
    draw.text((8, top - 24), y_label, fill="black", font=font)
    draw.text(((left + right) // 2 - 30, bottom + 32), x_label, fill="black", font=font)
    return left, top, right, bottom


def _legend(draw: Any, names: Sequence[str], x: int, y: int) -> None:
    font = _font(12)
    for index, name in enumerate(names):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        draw.rectangle([x, y + 22 * index, x + 14, y + 22 * index + 14], fill=colour)
        draw.text((x + 20, y + 22 * index), name, fill="black", font=font)


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
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH_PX, HEIGHT_PX), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _axes(draw, title, y_label, x_label)
    font = _font(11)
    n_series = max(1, len(series))
    group_w = (right - left) / max(1, len(groups))
    bar_w = group_w * 0.8 / n_series
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for s, values in enumerate(series.values()):
            value = values[g]
            if value is None or not np.isfinite(value):
                continue
            y = bottom - float(np.clip(value, 0, 1)) * (bottom - top)
            colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
            draw.rectangle([x0 + s * bar_w, y, x0 + (s + 1) * bar_w - 2, bottom], fill=colour)
            draw.text((x0 + s * bar_w, y - 14), f"{value:.2f}", fill="black", font=font)
        draw.text((x0 + group_w * 0.3, bottom + 8), group, fill="black", font=_font(12))
    _legend(draw, list(series), right + 16, top)
    return _save(image, target)


def line_chart_png(
    target: str | Path,
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    x_label: str,
    y_label: str,
) -> Path:
    """Curves on a 0..1 x 0..1 plot (e.g. precision against recall).

    Args:
        target: output .png.
        curves: name -> (x values, y values).
        title: chart title.
        x_label: x axis name.
        y_label: y axis name.
    """
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH_PX, HEIGHT_PX), "white")
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = _axes(draw, title, y_label, x_label)
    font = _font(12)
    for tick in np.linspace(0.0, 1.0, 6):
        x = left + tick * (right - left)
        draw.text((x - 8, bottom + 8), f"{tick:.1f}", fill="black", font=font)
    for index, (xs, ys) in enumerate(curves.values()):
        points = [
            (left + float(x) * (right - left), bottom - float(y) * (bottom - top))
            for x, y in zip(xs, ys, strict=True)
            if np.isfinite(x) and np.isfinite(y)
        ]
        if len(points) >= 2:
            draw.line(points, fill=SERIES_COLOURS[index % len(SERIES_COLOURS)], width=3)
    _legend(draw, list(curves), right + 16, top)
    return _save(image, target)

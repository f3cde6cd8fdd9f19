"""Report figures: each PNG holds the colours of what it shows, with missing values skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from forestgaps_engine.evaluation.plots import (
    ERROR_COLOURS,
    SERIES_COLOURS,
    bar_chart_png,
    error_map_png,
    line_chart_png,
)


def colours_in(path: Path) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of a PNG."""
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in row) for row in np.unique(pixels, axis=0)}


def test_error_map_shows_each_outcome_in_its_colour(tmp_path: Path) -> None:
    reference = np.zeros((40, 40), dtype=bool)
    predicted = np.zeros((40, 40), dtype=bool)
    reference[:20, :20] = predicted[:20, :20] = True  # found
    predicted[:20, 20:] = True  # false gap
    reference[20:, :20] = True  # missed
    valid = np.ones((40, 40), dtype=bool)
    valid[35:, 35:] = False

    target = error_map_png(tmp_path / "error.png", reference, predicted, valid, "site t5")

    assert target == tmp_path / "error.png"
    assert set(ERROR_COLOURS.values()) <= colours_in(target)


def test_bar_chart_draws_every_series_and_skips_missing_values(tmp_path: Path) -> None:
    series = {"model": [0.8, 0.9], "dsm_only": [0.7, None], "ceiling": [1.0, float("nan")]}

    target = bar_chart_png(tmp_path / "bars.png", ["2 m", "5 m"], series, "IoU", "IoU")

    assert set(SERIES_COLOURS[:3]) <= colours_in(target)


def test_line_chart_draws_every_curve_with_two_finite_points(tmp_path: Path) -> None:
    curves = {
        "model": ([0.0, 0.5, 1.0], [1.0, 0.8, 0.2]),
        "baseline": ([0.0, float("nan"), 1.0], [0.9, 0.5, 0.1]),
    }

    target = line_chart_png(tmp_path / "pr.png", curves, "PR", "recall", "precision")

    assert set(SERIES_COLOURS[:2]) <= colours_in(target)

"""The size-frequency PNG of gaps-from-chm, change and predict, with both power-law fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from forestgaps_engine.gaps.pipeline import gaps_from_chm
from forestgaps_engine.gaps.size_plot import size_frequencies, write_size_frequency_plot


def test_size_frequencies_count_each_size() -> None:
    sizes, counts = size_frequencies(np.array([4.0, 1.0, 4.0, 2.0, 4.0]))
    assert sizes.tolist() == [1.0, 2.0, 4.0]
    assert counts.tolist() == [1, 1, 3]


def test_plot_is_a_png_with_both_fits(tmp_path: Path) -> None:
    from matplotlib.image import imread

    areas = np.random.default_rng(0).pareto(1.0, 300) + 1.0
    target = write_size_frequency_plot(tmp_path / "size_frequency_t5.png", np.ceil(areas))
    image = imread(target)
    assert image.shape[:2] == (450, 600)
    # The Hanel fit (blue) and the Asner fit (red) are both drawn.
    rgb = image[..., :3]
    is_blue = (rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)
    is_red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
    assert is_blue.sum() > 100 and is_red.sum() > 50
    assert not list(tmp_path.glob(".*partial*"))


def test_plot_of_no_gap_says_so(tmp_path: Path) -> None:
    target = write_size_frequency_plot(tmp_path / "empty.png", np.zeros(0))
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_gaps_from_chm_writes_the_plot_per_threshold(small_chm: Path, tmp_path: Path) -> None:
    result = gaps_from_chm(small_chm, [5, 10], tmp_path / "out", min_area_m2=0.25)
    for item in result.thresholds:
        assert item.size_plot_path == tmp_path / "out" / f"size_frequency_{item.label}.png"
        assert item.size_plot_path.read_bytes()[:4] == b"\x89PNG"
        assert item.size_plot_path in result.outputs()
    summary = json.loads(result.summary_path.read_text())
    assert summary["thresholds"]["t5"]["files"]["size_frequency"] == "size_frequency_t5.png"


def test_plots_drawn_from_many_threads_at_once(tmp_path: Path) -> None:
    # The service draws in worker threads; matplotlib's log tick labels are not thread-safe.
    from concurrent.futures import ThreadPoolExecutor

    areas = np.ceil(np.random.default_rng(1).pareto(1.2, 200) + 1.0)

    def draw(index: int) -> Path:
        return write_size_frequency_plot(tmp_path / f"plot_{index}.png", areas * (index + 1))

    with ThreadPoolExecutor(6) as pool:
        paths = list(pool.map(draw, range(6)))
    assert all(path.read_bytes()[:4] == b"\x89PNG" for path in paths)

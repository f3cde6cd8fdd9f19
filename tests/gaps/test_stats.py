"""Per-gap statistics, R rounding and R's CSV formatting, on hand-made arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forestgaps_engine.gaps.r_compat import r_number, r_round
from forestgaps_engine.gaps.stats import STATS_COLUMNS, gap_stats, write_stats_csv


def _two_gaps() -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 2]], dtype=np.int32)
    height_m = np.array([[1.0, 2.0, 30.0], [30.0, 4.0, 30.0], [30.0, 30.0, 3.5]])
    return labels, height_m


def test_values_of_a_three_cell_and_a_one_cell_gap() -> None:
    labels, height_m = _two_gaps()
    stats = gap_stats(labels, height_m, cell_area_m2=0.5)
    np.testing.assert_array_equal(stats.gap_id, [1, 2])
    np.testing.assert_array_equal(stats.gap_area, [1.5, 0.5])
    np.testing.assert_array_equal(stats.chm_max, [4.0, 3.5])
    np.testing.assert_array_equal(stats.chm_min, [1.0, 3.5])
    np.testing.assert_array_equal(stats.chm_mean, [2.33, 3.5])
    assert stats.chm_sd[0] == 1.53  # sd(c(1, 2, 4)) = 1.5275
    # Gini of sorted (1, 2, 4): (2 * (1 + 4 + 12) / 7 - 4) / 2 = 0.4286
    assert stats.chm_gini[0] == 0.43
    assert np.isnan(stats.chm_sd[1]) and np.isnan(stats.chm_gini[1])
    np.testing.assert_array_equal(stats.chm_range, [3.0, 0.0])


def test_no_gap_gives_empty_stats_and_a_header_only_csv(tmp_path: Path) -> None:
    stats = gap_stats(np.zeros((3, 3), np.int32), np.ones((3, 3)), 1.0)
    assert len(stats) == 0
    target = write_stats_csv(tmp_path / "empty.csv", stats)
    assert target.read_text() == ",".join(f'"{c}"' for c in STATS_COLUMNS) + "\n"


def test_csv_writes_na_and_r_numbers(tmp_path: Path) -> None:
    labels, height_m = _two_gaps()
    height_m = height_m.astype(np.float32)
    height_m[0, 0] = np.float32(1.09)
    target = write_stats_csv(tmp_path / "s.csv", gap_stats(labels, height_m, 1.0))
    lines = target.read_text().splitlines()
    assert (
        lines[0]
        == '"gap_id","gap_area","chm_max","chm_min","chm_mean","chm_sd","chm_gini","chm_range"'
    )
    assert lines[1] == "1,3,4,1.0900000333786,2.36,1.49,0.41,2.91"
    assert lines[2] == "2,1,3.5,3.5,3.5,NA,NA,0"
    assert not list(tmp_path.glob(".*partial*"))


def test_r_round_picks_the_nearer_double_candidate() -> None:
    # R >= 4 rounds the stored double: 0.15 and 0.35 lie below the tie, 0.65 above it
    # (numpy.round gives 0.4 for 0.35); 0.125 is an exact tie and goes to the even digit.
    np.testing.assert_array_equal(r_round(np.array([0.15, 0.35, 0.65]), 1), [0.1, 0.3, 0.7])
    values = np.array([0.125, 0.375, -2.675, np.nan, 0.0, 1e300])
    np.testing.assert_array_equal(r_round(values, 2), [0.12, 0.38, -2.67, np.nan, 0.0, 1e300])


def test_r_number_matches_write_csv() -> None:
    assert r_number(34.0) == "34"
    assert r_number(float(np.float32(9.22))) == "9.22000026702881"
    assert r_number(float(np.float32(1.09))) == "1.0900000333786"
    assert r_number(0.3) == "0.3"
    assert r_number(10000.0) == "10000"
    assert r_number(100000.0) == "1e+05"
    assert r_number(123456.0) == "123456"
    assert r_number(0.0001) == "1e-04"
    assert r_number(0.00012) == "0.00012"
    assert r_number(-2.5) == "-2.5"
    assert r_number(float("nan")) == "NA"
    assert r_number(0.0) == "0"

"""Gap spatial pattern: Clark-Evans closed form, Ripley's K/L against envelopes, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from forestgaps_engine.cli.main import main
from forestgaps_engine.gaps.pattern import clark_evans, ripley_envelope, ripley_k
from forestgaps_engine.gaps.pattern_run import gap_points

WINDOW = (0.0, 0.0, 100.0, 100.0)


def test_clark_evans_closed_form_on_a_grid() -> None:
    # 10 x 10 points 10 m apart: every nearest neighbour at 10 m; lambda = 100 / 1e4.
    xs, ys = np.meshgrid(np.arange(5.0, 100.0, 10.0), np.arange(5.0, 100.0, 10.0))
    points = np.column_stack([xs.ravel(), ys.ravel()])
    result = clark_evans(points, WINDOW)
    expected_nn = 1.0 / (2.0 * math.sqrt(100 / 1e4))  # 5 m
    assert result.r_index == pytest.approx(10.0 / expected_nn)  # R = 2
    se = math.sqrt((4 - math.pi) * 1e4 / (4 * math.pi)) / 100
    assert result.z_score == pytest.approx((10.0 - 5.0) / se)
    donnelly = 5.0 + (0.0514 + 0.0412 / 10) * 400 / 100
    assert result.r_donnelly == pytest.approx(10.0 / donnelly)
    assert result.pattern == "regular"


def test_clark_evans_of_three_points() -> None:
    points = np.array([[10.0, 10.0], [13.0, 14.0], [50.0, 50.0]])  # nn: 5, 5, sqrt(37^2+36^2)
    result = clark_evans(points, WINDOW)
    mean_nn = (5 + 5 + math.hypot(37, 36)) / 3
    assert result.mean_nn_distance_m == pytest.approx(mean_nn)
    assert result.r_index == pytest.approx(mean_nn / (1 / (2 * math.sqrt(3 / 1e4))))


def test_ripley_k_without_edge_effects_counts_pairs() -> None:
    # Two points 1 m apart in the middle: no circle up to 1 m reaches an edge.
    points = np.array([[50.0, 50.0], [51.0, 50.0]])
    k = ripley_k(points, WINDOW, np.array([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(k, [0.0, 1e4 / 2 * 2, 1e4])


def test_regular_pattern_lies_below_the_envelope_and_clustered_above() -> None:
    rng = np.random.default_rng(0)
    xs, ys = np.meshgrid(np.arange(5.0, 100.0, 10.0), np.arange(5.0, 100.0, 10.0))
    regular = np.column_stack([xs.ravel(), ys.ravel()])
    curves = ripley_envelope(regular, WINDOW, n_simulations=39, seed=1)
    short = curves.r_m < 8.0
    assert np.all(curves.k_observed[short][1:] <= curves.k_low[short][1:])
    assert np.any(curves.k_observed[short] < curves.k_low[short])
    centres = rng.uniform(20, 80, (5, 2))
    clustered = np.concatenate([c + rng.normal(0, 2.0, (20, 2)) for c in centres])
    curves = ripley_envelope(clustered, WINDOW, n_simulations=39, seed=1)
    middle = (curves.r_m > 2.0) & (curves.r_m < 10.0)
    assert np.all(curves.k_observed[middle] > curves.k_high[middle])
    assert np.all(curves.l_of(curves.k_observed[middle]) > curves.l_of(curves.k_high[middle]))


def test_envelope_is_seeded() -> None:
    points = np.random.default_rng(2).uniform(0, 100, (30, 2))
    first = ripley_envelope(points, WINDOW, n_simulations=5, seed=7)
    second = ripley_envelope(points, WINDOW, n_simulations=5, seed=7)
    np.testing.assert_array_equal(first.k_high, second.k_high)


def _write_gap_raster(path: Path) -> Path:
    ids = np.zeros((40, 40), np.int32)
    ids[2:4, 2:5] = 1
    ids[10:16, 20:22] = 2
    ids[30, 30:32] = 3
    ids[31, 32] = 3  # diagonal neighbour: one 8-connected gap in two parts
    ids[35:38, 5:7] = 4
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=1, dtype="int32",
                       crs="EPSG:32631", transform=Affine(0.5, 0, 1000.0, 0, -0.5, 2000.0)) as ds:
        ds.write(ids, 1)  # fmt: skip
    return path


def test_points_of_a_raster_and_of_its_polygons_agree(tmp_path: Path) -> None:
    raster = _write_gap_raster(tmp_path / "gaps_t5.tif")
    from_raster = gap_points(raster)
    expected_first = (1000.0 + 3.5 * 0.5 / 1, 2000.0 - 3.0 * 0.5)  # cell centre mean of gap 1
    assert tuple(from_raster.points_xy[0]) == pytest.approx(expected_first)
    assert from_raster.window == (1000.0, 1980.0, 1020.0, 2000.0)
    # The GeoPackage gaps-from-chm writes for the same gaps gives the same points.
    from forestgaps_engine.gaps.pipeline import gaps_from_chm

    with rasterio.open(raster) as dataset:
        ids, profile = dataset.read(1), dataset.profile
    profile.update(dtype="float32", nodata=-9999.0)
    chm = tmp_path / "chm.tif"
    with rasterio.open(chm, "w", **profile) as dataset:
        dataset.write(np.where(ids > 0, 1.0, 20.0).astype("float32"), 1)
    result = gaps_from_chm(chm, [5.0], tmp_path / "gaps", min_area_m2=0.0)
    gpkg = result.thresholds[0].gpkg_path
    from_gpkg = gap_points(gpkg, window_raster=raster)
    np.testing.assert_allclose(from_gpkg.points_xy, from_raster.points_xy)
    assert from_gpkg.window == from_raster.window


def test_pattern_cli_writes_json_and_png(tmp_path: Path) -> None:
    raster = _write_gap_raster(tmp_path / "gaps_t5.tif")
    out = tmp_path / "out"
    assert main(["pattern", str(raster), "--simulations", "9", "--out", str(out)]) == 0
    summary = json.loads((out / "gaps_t5_pattern.json").read_text())
    assert summary["n_gaps"] == 4
    assert summary["clark_evans"]["correction"] == "none"
    assert summary["ripley"]["edge_correction"] == "isotropic (Ripley)"
    assert summary["ripley"]["n_simulations"] == 9
    assert len(summary["ripley"]["r_m"]) == 513
    assert (out / "gaps_t5_pattern.png").read_bytes()[:4] == b"\x89PNG"


def test_pattern_user_errors_exit_2(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    raster = _write_gap_raster(tmp_path / "gaps_t5.tif")
    assert main(["pattern", str(raster), "--simulations", "0", "--out", str(tmp_path)]) == 2
    assert "--simulations" in caplog.text
    assert main(["pattern", str(tmp_path / "missing.gpkg")]) == 2
    single = np.zeros((10, 10), np.int32)
    single[2, 2] = 1
    with rasterio.open(tmp_path / "one.tif", "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="int32", crs="EPSG:32631", transform=Affine(1, 0, 0, 0, -1, 10)) as ds:
        ds.write(single, 1)  # fmt: skip
    assert main(["pattern", str(tmp_path / "one.tif"), "--out", str(tmp_path / "o")]) == 2
    assert "at least 2" in caplog.text
    assert not (tmp_path / "o").exists()

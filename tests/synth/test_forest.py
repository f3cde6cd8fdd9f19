"""Synthetic forests: determinism, consistency, realism and difficulty."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from forestgaps_engine.synth.forest import generate_forest, write_forest
from forestgaps_engine.synth.terrain import generate_terrain

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@pytest.fixture(scope="module")
def forest_1km():
    return generate_forest(1024, resolution_m=1.0, seed=0)


def gap_sizes_m2(chm_m: np.ndarray, threshold_m: float, cell_area_m2: float) -> np.ndarray:
    labels, count = ndimage.label(chm_m <= threshold_m, structure=EIGHT_CONNECTED)
    return np.bincount(labels.ravel(), minlength=count + 1)[1:] * cell_area_m2


def test_same_seed_gives_identical_arrays_and_other_seeds_differ():
    first = generate_forest(128, seed=7)
    again = generate_forest(128, seed=7)
    other = generate_forest(128, seed=8)
    for name in ("dsm_m", "dtm_m", "chm_m"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.grid == again.grid
    assert np.abs(first.chm_m - other.chm_m).mean() > 1.0
    assert np.abs(first.dtm_m - other.dtm_m).mean() > 1.0


def test_dsm_is_dtm_plus_chm_and_arrays_are_float32(forest_1km):
    for array in (forest_1km.dsm_m, forest_1km.dtm_m, forest_1km.chm_m):
        assert array.dtype == np.float32
        assert array.shape == (1024, 1024)
    np.testing.assert_array_equal(forest_1km.dsm_m, forest_1km.dtm_m + forest_1km.chm_m)
    assert forest_1km.valid.all()


def test_canopy_heights_are_plausible(forest_1km):
    chm = forest_1km.chm_m
    assert chm.min() >= 0.0
    assert chm.max() < 65.0
    assert 10.0 < float(np.median(chm)) < 40.0
    assert 15.0 < float(np.percentile(chm, 95)) < 55.0


def test_gaps_exist_at_several_thresholds_with_heavy_tailed_sizes(forest_1km):
    chm = forest_1km.chm_m
    fractions = [float((chm <= threshold).mean()) for threshold in (2, 5, 10, 15, 20)]
    assert all(low < high for low, high in zip(fractions, fractions[1:], strict=False))
    assert 0.01 < fractions[0] < 0.25
    for threshold_m in (2.0, 5.0, 10.0):
        sizes = gap_sizes_m2(chm, threshold_m, forest_1km.grid.cell_area_m2)
        assert sizes.size > 100
        assert sizes.min() <= 5.0
        assert (sizes >= 100.0).sum() >= 10
        assert sizes.max() >= 1000.0


def test_terrain_relief_defeats_dsm_thresholding(forest_1km):
    assert np.ptp(forest_1km.dtm_m) > 50.0
    dsm = forest_1km.dsm_m
    for threshold_m in (2.0, 5.0, 10.0):
        from_dsm = dsm - dsm.min() <= threshold_m
        from_chm = forest_1km.chm_m <= threshold_m
        iou = (from_dsm & from_chm).sum() / max(int((from_dsm | from_chm).sum()), 1)
        assert iou < 0.3


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_relief_over_one_km_is_tens_to_hundreds_of_metres(seed):
    dtm = generate_terrain((1024, 1024), 1.0, np.random.default_rng(seed))
    assert 50.0 < float(np.ptp(dtm)) < 600.0
    slope = np.hypot(*np.gradient(dtm, 1.0))
    assert float(np.median(slope)) < 0.6  # hill country, not cliffs


def test_nodata_holes_are_nan_in_all_rasters_and_invalid():
    forest = generate_forest(256, seed=3, nodata_holes=True)
    holes = ~forest.valid
    assert 0.002 < holes.mean() < 0.1
    for array in (forest.dsm_m, forest.dtm_m, forest.chm_m):
        assert np.isnan(array[holes]).all()
        assert np.isfinite(array[forest.valid]).all()


def test_resolution_changes_pixels_not_the_kind_of_forest():
    fine = generate_forest(512, resolution_m=0.5, seed=5)
    coarse = generate_forest(128, resolution_m=2.0, seed=5)
    assert (
        fine.grid.bounds[2] - fine.grid.bounds[0] == coarse.grid.bounds[2] - coarse.grid.bounds[0]
    )
    for quantile in (50, 90):
        assert (
            abs(np.percentile(fine.chm_m, quantile) - np.percentile(coarse.chm_m, quantile)) < 3.0
        )
    for threshold_m in (5.0, 10.0):
        fine_share = float((fine.chm_m <= threshold_m).mean())
        coarse_share = float((coarse.chm_m <= threshold_m).mean())
        assert abs(fine_share - coarse_share) < 0.05


def test_written_files_carry_shape_crs_transform_and_nodata(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    forest = generate_forest(
        64, resolution_m=0.5, seed=2, nodata_holes=True, origin_xy=(9e5, 6.7e6)
    )
    paths = write_forest(forest, tmp_path / "site")
    assert sorted(paths) == ["chm", "dsm", "dtm"]
    for name, path in paths.items():
        assert path.name == f"{name}.tif"
        with rasterio.open(path) as dataset:
            assert (dataset.height, dataset.width) == (64, 64)
            assert dataset.crs.to_epsg() == 2154
            assert dataset.transform == forest.grid.transform
            assert dataset.transform.c == 9e5 and dataset.transform.f == 6.7e6
            assert dataset.res == (0.5, 0.5)
            values = dataset.read(1, masked=True)
        expected = getattr(forest, f"{name}_m")
        np.testing.assert_array_equal(np.ma.getmaskarray(values), ~forest.valid)
        np.testing.assert_array_equal(values.filled(np.nan)[forest.valid], expected[forest.valid])
    assert not list((tmp_path / "site").glob(".*partial*"))


def test_default_origin_is_plausible_for_lambert93():
    left, bottom, right, top = generate_forest(32, seed=11).grid.bounds
    assert 700_000 < left < 1_100_000
    assert 6_000_000 < bottom < top < 7_200_000


def test_too_small_size_is_rejected():
    with pytest.raises(ValueError, match="size_px"):
        generate_forest(4)


def test_open_stands_lower_and_thin_the_canopy_over_the_same_ground():
    closed = generate_forest(384, seed=21)
    open_woodland = generate_forest(384, seed=21, open_stand_share=1.0)
    # Their own random stream: the terrain is the same site's.
    np.testing.assert_array_equal(closed.dtm_m, open_woodland.dtm_m)
    assert float(np.median(open_woodland.chm_m)) < 0.5 * float(np.median(closed.chm_m))
    assert (open_woodland.chm_m <= 5.0).mean() > (closed.chm_m <= 5.0).mean() + 0.2
    # Scattered crowns still stand above the ground cover.
    assert float(np.percentile(open_woodland.chm_m, 95)) > 6.0


def test_open_stand_share_zero_is_the_closed_forest_and_out_of_range_is_refused():
    np.testing.assert_array_equal(
        generate_forest(96, seed=4).chm_m, generate_forest(96, seed=4, open_stand_share=0.0).chm_m
    )
    with pytest.raises(ValueError, match="open_stand_share"):
        generate_forest(96, seed=4, open_stand_share=1.5)

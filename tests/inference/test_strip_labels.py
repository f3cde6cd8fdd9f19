"""Strip-wise labelling equals whole-raster scipy labelling + area filter + renumbering."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.inference.strip_labels import final_strips, label_strips


def _strip_labels(is_gap: np.ndarray, strip_rows: int, cell_area_m2: float, min_area_m2: float):
    def read_rows(row_off: int, n_rows: int) -> np.ndarray:
        return is_gap[row_off : row_off + n_rows]

    labelling = label_strips(read_rows, is_gap.shape[0], strip_rows, cell_area_m2, min_area_m2)
    ids = np.zeros(is_gap.shape, dtype=np.int32)
    for row_off, strip in final_strips(read_rows, labelling):
        ids[row_off : row_off + strip.shape[0]] = strip
    return ids, labelling


def _expected(is_gap: np.ndarray, cell_area_m2: float, min_area_m2: float) -> np.ndarray:
    return label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, cell_area_m2, min_area_m2, float("inf"))


def _assert_same(is_gap: np.ndarray, strip_rows: int, cell_area_m2: float, min_area_m2: float):
    actual, labelling = _strip_labels(is_gap, strip_rows, cell_area_m2, min_area_m2)
    expected = _expected(is_gap, cell_area_m2, min_area_m2)
    assert actual.dtype == np.int32
    np.testing.assert_array_equal(actual, expected)
    counts = np.bincount(expected.ravel(), minlength=expected.max() + 1)[1:]
    np.testing.assert_array_equal(labelling.cell_counts, counts)
    assert labelling.n_gaps == expected.max()
    return expected


@pytest.mark.parametrize("strip_rows", [1, 7, 64])
# 0.25: many small patches; 0.55 is past 8-connected percolation: one patch spans every strip.
@pytest.mark.parametrize("density", [0.25, 0.55])
@pytest.mark.parametrize("min_area_m2", [0.0, 2.0, 4.0])
def test_random_masks_match_whole_raster_labels(strip_rows, density, min_area_m2) -> None:
    rng = np.random.default_rng(int(density * 100) + strip_rows)
    is_gap = rng.random((157, 83)) < density
    expected = _assert_same(is_gap, strip_rows, 0.25 if min_area_m2 else 1.0, min_area_m2)
    if density < 0.4:
        assert expected.max() > (3 if min_area_m2 < 4.0 else 0)
    else:
        assert np.setdiff1d(np.intersect1d(expected[0], expected[-1]), [0]).size


@pytest.mark.parametrize("strip_rows", [1, 7, 64])
def test_snake_spanning_many_strips_and_diagonal_joins(strip_rows) -> None:
    is_gap = np.zeros((140, 40), dtype=bool)
    # A serpentine patch crossing every strip boundary, joined only diagonally at row 69|70.
    for row in range(0, 140, 4):
        is_gap[row, 1:39] = True
        is_gap[row : row + 4, 1 if (row // 4) % 2 else 38] = True
    is_gap[69:71, :] = False
    is_gap[69, 5] = True
    is_gap[70, 6] = True
    is_gap[68, 5] = True
    is_gap[71, 6] = True
    # Two isolated cells touching only by a corner across rows 6|7 (strip boundary at 7).
    is_gap[6, 39] = True
    is_gap[7, 38] = False
    # A U-shaped patch whose arms start in one strip and meet only many strips below.
    is_gap[100:130, 10] = True
    is_gap[100:130, 30] = True
    is_gap[129, 10:31] = True
    expected = _assert_same(is_gap, strip_rows, 1.0, 0.0)
    assert expected[69, 5] == expected[70, 6]


def test_merge_of_later_patch_into_an_earlier_numbered_one() -> None:
    # Strip 1 has two patches (a left one first in row-major order, then a right one);
    # they merge in strip 3; a third patch between them must keep its place in the order.
    is_gap = np.zeros((30, 20), dtype=bool)
    is_gap[0:25, 15] = True
    is_gap[2:25, 2] = True
    is_gap[24, 2:16] = True
    is_gap[5:8, 8:10] = True
    for strip_rows in (1, 3, 7, 30):
        _assert_same(is_gap, strip_rows, 1.0, 0.0)


@pytest.mark.parametrize("strip_rows", [1, 7, 64])
def test_synthetic_forest_gaps_match(strip_rows) -> None:
    rng = np.random.default_rng(11)
    rows, cols = np.mgrid[0:180, 0:150].astype(np.float32)
    canopy_m = 18.0 + 6.0 * np.sin(rows / 7.0) * np.cos(cols / 5.0) + rng.normal(0, 2, rows.shape)
    for _ in range(25):
        row, col, radius = rng.integers(0, 180), rng.integers(0, 150), rng.integers(2, 12)
        canopy_m[(rows - row) ** 2 + (cols - col) ** 2 <= radius**2] = rng.uniform(0, 4)
    is_gap = canopy_m < 5.0
    expected = _assert_same(is_gap, strip_rows, 0.25, 4.0)
    assert expected.max() > 10


def test_empty_and_full_rasters() -> None:
    _assert_same(np.zeros((10, 10), dtype=bool), 3, 1.0, 0.0)
    full, _ = _strip_labels(np.ones((10, 10), dtype=bool), 3, 1.0, 0.0)
    assert (full == 1).all()
    dropped, labelling = _strip_labels(np.ones((10, 10), dtype=bool), 3, 1.0, 101.0)
    assert not dropped.any() and labelling.n_gaps == 0


def test_strip_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="strip_rows"):
        label_strips(lambda _off, _n: np.zeros((1, 1), bool), 4, 0, 1.0, 0.0)


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("cleanup_radius_px", [0, 2])
def test_on_disk_gaps_equal_the_whole_raster_ones(
    tmp_path, monkeypatch, cleanup_radius_px, n_threads
) -> None:
    """label_gap_rasters + statistics + mask + polygons == whole-raster scipy, 7-row strips.

    The whole-raster oracle: cut, opening then closing with a disk, ``label_gaps``
    numbering, scipy's per-label DSM reductions and GDAL polygons of the in-memory ids.
    With 3 threads, strips are labelled and measured out of order: same result.
    """
    import rasterio
    from scipy import ndimage

    from forestgaps_engine.geo.raster_io import PROBABILITY_PROFILE, grid_of, write_array
    from forestgaps_engine.geo.vectorize import write_label_polygons
    from forestgaps_engine.inference import postprocess
    from forestgaps_engine.inference.polygons import FIELDS, LAYER_NAME, write_gap_polygons
    from tests.inference.helpers import write_dsm

    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:90, 0:70].astype(np.float32)
    probability = 0.5 + 0.45 * np.sin(rows / 4.0) * np.cos(cols / 3.0)
    probability += rng.normal(0, 0.15, probability.shape)
    probability[:, 0:40] = np.where(rng.random((90, 40)) < 0.5, 0.9, 0.1)
    probability[60:64, :] = np.nan
    probability = np.clip(probability, 0, 1).astype(np.float32)
    dsm_values = rng.uniform(190, 230, probability.shape).astype(np.float32)
    dsm_values[5:9, 50:60] = np.nan
    dsm_path = write_dsm(tmp_path / "dsm.tif", dsm_values, resolution_m=0.5)
    with rasterio.open(dsm_path) as dsm:
        grid = grid_of(dsm)
    write_array(tmp_path / "p.tif", probability, grid, PROBABILITY_PROFILE)
    valid = np.isfinite(probability)
    is_gap = valid & (probability >= 0.5)
    if cleanup_radius_px:
        offsets = np.arange(-cleanup_radius_px, cleanup_radius_px + 1)
        disk = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= cleanup_radius_px**2
        is_gap = ndimage.binary_closing(ndimage.binary_opening(is_gap, disk), disk) & valid
    expected = _expected(is_gap, grid.cell_area_m2, 1.0)
    n_expected = int(expected.max())
    monkeypatch.setattr(postprocess, "STRIP_ROWS", 7)
    (tmp_path / "work").mkdir()
    with rasterio.open(tmp_path / "p.tif") as source:
        gaps = postprocess.label_gap_rasters(
            source, grid, 0.5, 1.0, tmp_path / "work", cleanup_radius_px, n_threads=n_threads
        )
    # The statistics measured in the labelling's second pass, from the DSM strips.
    (tmp_path / "fused").mkdir()
    with rasterio.open(tmp_path / "p.tif") as source, rasterio.open(dsm_path) as dsm:
        fused = postprocess.label_gap_rasters(
            source, grid, 0.5, 1.0, tmp_path / "fused", cleanup_radius_px, None, n_threads, dsm
        )
    assert gaps.statistics is None and fused.statistics is not None
    stats = fused.statistics
    assert gaps.n_gaps == fused.n_gaps == n_expected > 5
    index = np.arange(1, n_expected + 1)
    counts = np.bincount(expected.ravel(), minlength=n_expected + 1)[1:]
    np.testing.assert_array_equal(stats.area_m2, counts * grid.cell_area_m2)
    np.testing.assert_array_equal(gaps.area_m2, stats.area_m2)
    # The statistics against scipy's per-label reductions over the valid DSM cells.
    measured = np.where(np.isnan(dsm_values), 0, expected)
    present = np.isin(index, measured)
    for name in ("dsm_min_m", "dsm_max_m", "dsm_mean_m"):
        assert np.isnan(getattr(stats, name)).tolist() == (~present).tolist()
    for name, reduce in (
        ("dsm_min_m", ndimage.minimum),
        ("dsm_max_m", ndimage.maximum),
        ("dsm_mean_m", ndimage.mean),
    ):
        want = np.asarray(reduce(dsm_values.astype(np.float64), measured, index[present]))
        np.testing.assert_allclose(getattr(stats, name)[present], want, rtol=1e-12)
    assert gaps.n_valid_px == int(valid.sum())
    # Cell sides between each gap and the rest, across strips and at the raster's border.
    padded = np.pad(expected, 1)
    sides = np.zeros(n_expected + 1, dtype=np.int64)
    for axis in (0, 1):
        for shift in (1, -1):
            other = np.roll(padded, shift, axis=axis)[1:-1, 1:-1]
            differs = expected != other
            sides += np.bincount(expected[differs], minlength=n_expected + 1)
    np.testing.assert_array_equal(gaps.boundary_edges, sides[1:])
    assert gaps.n_gap_px == int(np.count_nonzero(expected))
    with rasterio.open(gaps.ids_path) as ids:
        on_disk = ids.read(1)
    np.testing.assert_array_equal(np.where(on_disk < 0, 0, on_disk), expected)
    np.testing.assert_array_equal(on_disk < 0, ~valid)
    postprocess.write_gap_mask(tmp_path / "mask.tif", gaps, grid)
    with rasterio.open(tmp_path / "mask.tif") as mask:
        np.testing.assert_array_equal(mask.read(1), np.where(valid, expected > 0, 255))
    ogr = pytest.importorskip("osgeo.ogr")
    want = write_label_polygons(
        tmp_path / "want.gpkg", LAYER_NAME, expected, FIELDS[:1], {"gap_id": index},
        grid.crs, grid,
    )  # fmt: skip
    got = write_gap_polygons(tmp_path / "got.gpkg", fused, stats, 5.0)
    want_dataset, got_dataset = ogr.Open(str(want)), ogr.Open(str(got))
    want_rows = [(f.GetFID(), f.GetGeometryRef().ExportToWkb()) for f in want_dataset.GetLayer(0)]
    got_rows = [(f.GetFID(), f.GetGeometryRef().ExportToWkb()) for f in got_dataset.GetLayer(0)]
    assert got_rows == want_rows and len(got_rows) == n_expected
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["gap_ids.tif"]


@pytest.mark.parametrize("strip_rows", [1, 7, 64])
@pytest.mark.parametrize("max_area_m2", [2.0, 30.0])
def test_max_area_bound_matches_whole_raster_labels(strip_rows, max_area_m2) -> None:
    rng = np.random.default_rng(strip_rows)
    is_gap = rng.random((157, 83)) < 0.3

    def read_rows(row_off: int, n_rows: int) -> np.ndarray:
        return is_gap[row_off : row_off + n_rows]

    labelling = label_strips(read_rows, is_gap.shape[0], strip_rows, 1.0, 1.0, max_area_m2)
    ids = np.zeros(is_gap.shape, dtype=np.int32)
    for row_off, strip in final_strips(read_rows, labelling):
        ids[row_off : row_off + strip.shape[0]] = strip

    expected = label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, 1.0, 1.0, max_area_m2)
    np.testing.assert_array_equal(ids, expected)
    assert 0 < expected.max() < _expected(is_gap, 1.0, 1.0).max()

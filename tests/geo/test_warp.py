"""Warping onto one metric grid: UTM choice, planes stay planes, masks stay binary."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from affine import Affine
from rasterio.warp import transform, transform_bounds

from forestgaps_engine.errors import CRSMismatchError, DataError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import Band, read_band
from forestgaps_engine.geo.warp import (
    chm_from_dsm_dtm,
    harmonize,
    metric_grid_for,
    utm_crs_for,
    warp_to_grid,
)
from tests.data.rasters import ORIGINS, plane_raster, random_chm, write_raster

SLOPE = (0.1, -0.05)


def _plane_at(
    grid: Grid, crs_of_plane: str, origin: tuple[float, float] | None = None
) -> np.ndarray:
    """The plane of ``plane_raster`` (defined in ``crs_of_plane``) at ``grid``'s centres."""
    rows, cols = np.mgrid[0 : grid.height_px, 0 : grid.width_px]
    x, y = grid.transform * (cols + 0.5, rows + 0.5)
    if grid.crs != crs_of_plane:
        x, y = transform(grid.crs, crs_of_plane, x.ravel(), y.ravel())
        x, y = np.reshape(x, rows.shape), np.reshape(y, rows.shape)
    x0, y0 = origin or ORIGINS[crs_of_plane]
    return 300.0 + SLOPE[0] * (x - x0) + SLOPE[1] * (y - y0)


def test_utm_zones():
    assert utm_crs_for(2.35, 48.85) == "EPSG:32631"  # Paris
    assert utm_crs_for(-62.0, -3.0) == "EPSG:32720"  # Amazon, south
    assert utm_crs_for(-60.0, -3.0) == "EPSG:32721"  # zone edges belong to the east zone
    assert utm_crs_for(5.3, 60.4) == "EPSG:32632"  # Bergen, Norway exception
    assert utm_crs_for(179.9, 10.0) == "EPSG:32660"
    with pytest.raises(DataError, match="UTM domain"):
        utm_crs_for(0.0, 89.0)


def test_plane_in_lambert93_stays_a_plane_on_a_utm_grid(tmp_path):
    band = read_band(plane_raster(tmp_path / "l93.tif", "EPSG:2154"))
    bounds = transform_bounds("EPSG:2154", "EPSG:32631", *band.grid.bounds)
    target = Grid.snapped("EPSG:32631", bounds, 1.0)
    warped = warp_to_grid(band, target, "bilinear")
    assert warped.grid == target
    # Interior cells are valid and the plane is reproduced to a centimetre.
    assert warped.valid[5:-5, 5:-5].mean() > 0.95
    expected = _plane_at(target, "EPSG:2154")
    error = np.abs(warped.values - expected)[warped.valid]
    assert error.max() < 0.02


def test_geographic_raster_gets_a_utm_grid_with_a_warning(tmp_path, caplog):
    # A plane defined in UTM 31N, stored in EPSG:4326.
    utm = read_band(plane_raster(tmp_path / "utm.tif", "EPSG:32631", shape=(40, 40)))
    west, south, east, north = transform_bounds("EPSG:32631", "EPSG:4326", *utm.grid.bounds)
    geo_grid = Grid(
        "EPSG:4326", Affine((east - west) / 40, 0, west, 0, -(north - south) / 40, north), 40, 40
    )
    geo = warp_to_grid(utm, geo_grid)
    path = write_raster(tmp_path / "geo.tif", geo.values, "EPSG:4326", transform=geo_grid.transform)
    with caplog.at_level(logging.WARNING):
        bands = harmonize({"dsm": path})
    assert "degrees" in caplog.text
    grid = bands["dsm"].grid
    assert grid.crs == "EPSG:32631"
    assert 0.5 < grid.resolution_m[0] < 1.5
    assert grid.transform.c % grid.resolution_m[0] == pytest.approx(0.0, abs=1e-6)
    expected = _plane_at(grid, "EPSG:32631")
    valid = bands["dsm"].valid
    assert valid.mean() > 0.8
    assert np.abs(bands["dsm"].values - expected)[valid].max() < 0.05


def test_metric_grid_keeps_metric_grids_and_regrids_on_request(tmp_path):
    band = read_band(plane_raster(tmp_path / "p.tif", "EPSG:32631", shape=(10, 12)))
    assert metric_grid_for(band) is band.grid
    coarse = metric_grid_for(band.grid, resolution_m=2.0)
    assert coarse.shape == (5, 6) and coarse.bounds == band.grid.bounds


def test_harmonize_three_crs_with_a_nearest_mask(tmp_path):
    dsm = plane_raster(tmp_path / "dsm.tif", "EPSG:32631", shape=(40, 40))
    lambert_bounds = transform_bounds(
        "EPSG:32631", "EPSG:2154", 500_000, 4_999_960, 500_040, 5_000_000
    )
    origin = (lambert_bounds[0] - 5, lambert_bounds[3] + 5)
    dtm = plane_raster(tmp_path / "dtm.tif", "EPSG:2154", shape=(50, 50), origin=origin)
    mask = (np.indices((50, 50)).sum(axis=0) % 2).astype(np.uint8)
    labels = write_raster(tmp_path / "labels.tif", mask, "EPSG:2154", origin=origin, nodata=255)
    bands = harmonize({"dsm": dsm, "dtm": dtm, "labels": labels}, mask_keys=("labels",))
    grids = {band.grid for band in bands.values()}
    assert len(grids) == 1 and bands["dsm"].grid.crs == "EPSG:32631"
    warped_mask = bands["labels"].values[bands["labels"].valid]
    assert set(np.unique(warped_mask)) == {0.0, 1.0}
    dtm_band = bands["dtm"]
    # The DTM plane was defined in Lambert-93 from its own origin.
    expected = _plane_at(dtm_band.grid, "EPSG:2154", origin)
    assert np.abs(dtm_band.values - expected)[dtm_band.valid].max() < 0.02


def test_non_overlapping_inputs_name_both_files(tmp_path):
    dsm = random_chm(tmp_path / "dsm.tif", "EPSG:2154")
    far = write_raster(
        tmp_path / "chm.tif", np.ones((8, 8), np.float32), "EPSG:2154", origin=(800_000, 6_700_000)
    )
    with pytest.raises(CRSMismatchError, match="do not overlap") as caught:
        harmonize({"dsm": dsm, "chm": far})
    assert "dsm.tif" in caught.value.message and "chm.tif" in caught.value.message


def test_crs_and_no_crs_mismatch_unless_overridden(tmp_path):
    dsm = plane_raster(tmp_path / "dsm.tif", "EPSG:2154", shape=(32, 32))
    chm = random_chm(tmp_path / "chm.tif", crs=None)
    with pytest.raises(CRSMismatchError, match="has none") as caught:
        harmonize({"dsm": dsm, "chm": chm})
    assert "chm.tif" in caught.value.message and "EPSG:2154" in caught.value.hint
    # The CRS-less file's grid is at a made-up origin: it overlaps once placed in L93.
    placed = write_raster(
        tmp_path / "chm2.tif", read_band(chm).values, None, origin=ORIGINS["EPSG:2154"]
    )
    bands = harmonize({"dsm": dsm, "chm": placed}, crs_overrides={"chm": "EPSG:2154"})
    np.testing.assert_allclose(bands["chm"].values, read_band(chm).values)


def test_crs_less_inputs_are_aligned_by_their_transforms(tmp_path):
    a = write_raster(tmp_path / "dsm.tif", np.ones((8, 8), np.float32), None, origin=(0, 8))
    b = write_raster(
        tmp_path / "dtm.tif", np.zeros((4, 4), np.float32), None, origin=(0, 8), resolution=2.0
    )
    bands = harmonize({"dsm": a, "dtm": b})
    assert bands["dtm"].grid.shape == (8, 8) and bands["dtm"].valid.all()


def test_chm_from_dsm_dtm_clips_negatives_and_combines_validity():
    grid = Grid("EPSG:2154", Affine(1, 0, 0, 0, -1, 3), 3, 3)
    dsm = np.array([[10, 12, 5], [8, np.nan, 3], [7, 7, 7]], np.float32)
    dtm = np.array([[2, 2, 6], [2, 2, 2], [np.nan, 2, 2]], np.float32)
    chm = chm_from_dsm_dtm(
        Band(dsm, np.isfinite(dsm), grid, "dsm.tif"), Band(dtm, np.isfinite(dtm), grid, "dtm.tif")
    )
    expected = np.array([[8, 10, 0], [6, np.nan, 1], [np.nan, 5, 5]], np.float32)
    np.testing.assert_array_equal(chm.values, expected)
    np.testing.assert_array_equal(chm.valid, np.isfinite(expected))


def test_chm_from_dsm_dtm_on_different_grids_is_refused():
    values = np.ones((3, 3), np.float32)
    a = Band(values, values > 0, Grid("EPSG:2154", Affine(1, 0, 0, 0, -1, 3), 3, 3), "a.tif")
    b = Band(values, values > 0, Grid("EPSG:2154", Affine(1, 0, 1, 0, -1, 3), 3, 3), "b.tif")
    with pytest.raises(CRSMismatchError, match="harmonize"):
        chm_from_dsm_dtm(a, b)

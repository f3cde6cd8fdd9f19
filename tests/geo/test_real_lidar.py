"""Real lidar (lidR samples, GPL-3, outside the repo): rasterise, then warp across CRSs.

The synthetic tests in test_lidar.py and test_warp.py cover the same features without
these files; here the point is real density, real terrain and real CRSs.
"""

from __future__ import annotations

import laspy
import numpy as np
import pytest
from rasterio.warp import transform, transform_bounds

from forestgaps_engine.errors import CRSMismatchError, DataError
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.lidar import rasterize_point_cloud
from forestgaps_engine.geo.raster_io import read_band
from forestgaps_engine.geo.warp import chm_from_dsm_dtm, harmonize, utm_crs_for


@pytest.fixture
def topography(shared_data, tmp_path):
    return rasterize_point_cloud(shared_data / "Topography.laz", 2.0, tmp_path / "topography")


def test_topography_rasters_have_its_crs_extent_and_plausible_heights(topography, shared_data):
    dsm, dtm, chm = (read_band(topography[name]) for name in ("dsm", "dtm", "chm"))
    assert chm.grid.crs == "EPSG:2949"
    left, bottom, right, top = chm.grid.bounds
    # Header bounds: 273357.1-273642.9 E, 5274357.1-5274642.9 N, snapped outward to 2 m.
    assert (left, bottom, right, top) == (273356.0, 5274356.0, 273644.0, 5274644.0)
    assert 0.0 <= np.nanmin(chm.values) and np.nanmax(chm.values) <= 60.0
    assert 5.0 < np.nanpercentile(chm.values, 99) < 40.0
    assert 785.0 < np.nanmin(dtm.values) and np.nanmax(dtm.values) < 830.0
    assert (dsm.values >= dtm.values - 1e-3)[dsm.valid & dtm.valid].all()
    # The terrain is a slope of over 15 m, and the DTM sits on the ground returns.
    assert np.nanpercentile(dtm.values, 99) - np.nanpercentile(dtm.values, 1) > 15.0
    cloud = laspy.read(shared_data / "Topography.laz")
    ground = cloud.classification == 2
    cols, rows = ~dtm.grid.transform * (np.asarray(cloud.x[ground]), np.asarray(cloud.y[ground]))
    at_points = dtm.values[rows.astype(int), cols.astype(int)]
    residual_m = np.asarray(cloud.z[ground]) - at_points
    assert np.nanmedian(np.abs(residual_m)) < 0.3


def test_topography_chm_warped_to_utm_keeps_its_heights(topography):
    original = read_band(topography["chm"])
    left, bottom, right, top = original.grid.bounds
    lon, lat = transform("EPSG:2949", "EPSG:4326", [(left + right) / 2], [(bottom + top) / 2])
    utm = utm_crs_for(lon[0], lat[0])
    target = Grid.snapped(utm, transform_bounds("EPSG:2949", utm, left, bottom, right, top), 2.0)
    bands = harmonize({"chm": topography["chm"], "dtm": topography["dtm"]}, target=target)
    warped = bands["chm"]
    assert warped.grid.crs == utm
    assert abs(np.nanmean(warped.values) - np.nanmean(original.values)) < 0.5
    assert (
        abs(np.nanmean(bands["dtm"].values) - np.nanmean(read_band(topography["dtm"]).values)) < 1.0
    )
    rebuilt = chm_from_dsm_dtm(
        *harmonize({"dsm": topography["dsm"], "dtm": topography["dtm"]}, target=target).values()
    )
    assert abs(np.nanmedian(rebuilt.values) - np.nanmedian(warped.values)) < 0.5


def test_mixed_conifer_is_height_normalised_and_gives_a_chm(shared_data, tmp_path):
    with pytest.raises(DataError, match="height-normalised"):
        rasterize_point_cloud(shared_data / "MixedConifer.laz", 1.0, tmp_path / "out")
    out = rasterize_point_cloud(
        shared_data / "MixedConifer.laz", 1.0, tmp_path / "out", normalized="chm"
    )
    chm = read_band(out["chm"])
    assert chm.grid.crs == "EPSG:26912"
    assert chm.grid.shape == (90, 90)
    assert 0.0 <= np.nanmin(chm.values) and 25.0 < np.nanmax(chm.values) <= 60.0
    assert chm.valid.mean() > 0.95


def test_mixed_conifer_and_topography_do_not_overlap(shared_data, topography, tmp_path):
    out = rasterize_point_cloud(
        shared_data / "MixedConifer.laz", 2.0, tmp_path / "mc", normalized="chm"
    )
    with pytest.raises(CRSMismatchError, match="do not overlap"):
        harmonize({"dsm": topography["dsm"], "chm": out["chm"]})


def test_crs_less_real_chm_needs_an_override_next_to_a_georeferenced_one(shared_data, topography):
    with pytest.raises(CRSMismatchError, match="ALS_CHM_DUC.tif"):
        harmonize({"dsm": topography["dsm"], "chm": shared_data / "ALS_CHM_DUC.tif"})
    alone = harmonize({"chm": shared_data / "ALS_CHM_DUC.tif"})["chm"]
    assert alone.grid.crs is None and alone.grid.shape == (200, 200)

"""Raster reading, unit checks, COG writing and windowed I/O on tiny rasters."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio
from affine import Affine

from forestgaps_engine.errors import (
    CRSMismatchError,
    DataError,
    EmptyRasterError,
    InvalidDataFormatError,
)
from forestgaps_engine.geo.cog import to_cog
from forestgaps_engine.geo.crs import horizontal_unit, normalize_crs
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.raster_io import (
    HEIGHT_PROFILE,
    MASK_PROFILE,
    read_band,
    read_height_band,
    write_array,
)
from tests.data.rasters import is_cog, random_chm, write_raster


def test_text_file_named_tif_is_rejected_naming_the_file(tmp_path):
    fake = tmp_path / "notes.tif"
    fake.write_text("this is not a raster\n")
    with pytest.raises(InvalidDataFormatError, match="notes.tif"):
        read_band(fake)


def test_multi_band_raster_is_rejected(tmp_path):
    path = write_raster(tmp_path / "rgb.tif", np.ones((3, 8, 8), dtype=np.float32))
    with pytest.raises(InvalidDataFormatError, match="3 bands"):
        read_band(path)


def test_all_nodata_raster_is_rejected(tmp_path):
    path = write_raster(tmp_path / "empty.tif", np.full((8, 8), np.nan, dtype=np.float32))
    with pytest.raises(EmptyRasterError, match="empty.tif"):
        read_band(path)


def test_nodata_and_nan_become_invalid(tmp_path):
    values = np.arange(16, dtype=np.float32).reshape(4, 4)
    values[0, 0] = np.nan
    path = write_raster(tmp_path / "h.tif", values)
    band = read_band(path)
    assert not band.valid[0, 0] and np.isnan(band.values[0, 0])
    assert band.valid.sum() == 15
    assert band.values[3, 3] == 15


def test_integer_mask_reads_as_float_with_nodata_invalid(tmp_path):
    mask = np.array([[0, 1], [255, 1]], dtype=np.uint8)
    band = read_band(write_raster(tmp_path / "mask.tif", mask, nodata=255))
    assert band.values.dtype == np.float32
    np.testing.assert_array_equal(band.valid, [[True, True], [False, True]])
    assert band.values[0, 1] == 1.0


def test_crs_less_raster_warns_and_accepts_an_override(tmp_path, caplog):
    path = random_chm(tmp_path / "nocrs.tif", crs=None)
    with caplog.at_level(logging.WARNING):
        band = read_band(path)
    assert band.grid.crs is None
    assert "no CRS" in caplog.text
    assert read_band(path, crs_override="2154").grid.crs == "EPSG:2154"


def test_invalid_crs_override_is_a_clear_error(tmp_path):
    path = random_chm(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(CRSMismatchError, match="not a valid CRS"):
        read_band(path, crs_override="EPSG:999999")
    assert normalize_crs("EPSG:32631", "test") == "EPSG:32631"


def test_horizontal_units():
    assert horizontal_unit("EPSG:2154") == "metre"
    assert horizontal_unit("EPSG:4326") == "degree"
    assert horizontal_unit("EPSG:2249") == "US survey foot"
    assert horizontal_unit(None) == "none"


def test_us_feet_crs_is_rejected_with_a_fix(tmp_path):
    path = write_raster(tmp_path / "feet.tif", np.full((8, 8), 60.0, np.float32), "EPSG:2249")
    with pytest.raises(CRSMismatchError, match="US survey foot") as caught:
        read_height_band(path, kind="chm")
    assert "0.3048" in caught.value.hint


@pytest.mark.parametrize(
    ("scale", "match"), [(3.28084, "feet"), (100.0, "centimetres")], ids=["feet", "cm"]
)
def test_chm_in_feet_or_centimetres_is_reported(tmp_path, scale, match):
    heights = np.random.default_rng(1).uniform(30.0, 45.0, (16, 16)).astype(np.float32)
    path = write_raster(tmp_path / "chm.tif", heights * scale)
    assert read_height_band(write_raster(tmp_path / "ok.tif", heights), kind="chm").valid.all()
    with pytest.raises(DataError, match=match):
        read_height_band(path, kind="chm")


def test_elevation_beyond_earth_is_reported(tmp_path):
    path = write_raster(tmp_path / "dsm_cm.tif", np.full((8, 8), 45_000.0, np.float32))
    with pytest.raises(DataError, match="elevations span"):
        read_height_band(path, kind="elevation")


def test_cog_output_has_overviews_and_same_values(tmp_path):
    grid = Grid("EPSG:2154", Affine(1, 0, 700_000, 0, -1, 6_600_000), 600, 520)
    heights = np.random.default_rng(2).uniform(0, 30, grid.shape).astype(np.float32)
    heights[:5] = np.nan
    target = write_array(tmp_path / "h.tif", heights, grid, HEIGHT_PROFILE, cog=True)
    assert is_cog(target)
    with rasterio.open(target) as dataset:
        assert dataset.overviews(1)
        assert dataset.nodata == HEIGHT_PROFILE.nodata
    band = read_band(target)
    np.testing.assert_array_equal(band.values[5:], heights[5:])
    assert not band.valid[:5].any()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.tif"]


def test_to_cog_converts_in_place_and_keeps_mask_values(tmp_path):
    grid = Grid("EPSG:32631", Affine(0.5, 0, 500_000, 0, -0.5, 5_000_000), 300, 300)
    mask = (np.random.default_rng(3).random(grid.shape) > 0.5).astype(np.uint8)
    path = write_array(tmp_path / "mask.tif", mask, grid, MASK_PROFILE)
    assert not is_cog(path)
    to_cog(path, path)
    assert is_cog(path)
    with rasterio.open(path) as dataset:
        np.testing.assert_array_equal(dataset.read(1), mask)
        assert set(np.unique(dataset.read(1, out_shape=(75, 75)))) <= {0, 1}


def test_failed_write_leaves_nothing(tmp_path):
    grid = Grid("EPSG:2154", Affine(1, 0, 0, 0, -1, 0), 4, 4)
    with pytest.raises(ValueError, match="shape"):
        write_array(tmp_path / "bad.tif", np.zeros((3, 3), np.float32), grid, HEIGHT_PROFILE)
    with pytest.raises(InvalidDataFormatError):
        to_cog(tmp_path / "missing.tif", tmp_path / "out.tif")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("dtype", "nodata", "internal_mask"),
    [
        ("float32", -9999.0, False),
        ("float32", float("nan"), False),
        ("float32", None, False),
        ("int16", -32768, False),
        ("uint16", 0, False),
        ("uint8", 0.5, False),  # GDAL truncates a fractional nodata of an integer band
        ("float32", -3.4028234663852886e38, False),
        ("float64", -9999.0, False),  # float64 takes the masked read
        ("float64", 0.0, True),  # a per-dataset mask: the masked read
    ],
)
def test_read_valid_values_matches_the_masked_read(tmp_path, dtype, nodata, internal_mask):
    import rasterio
    from affine import Affine

    from forestgaps_engine.geo.raster_io import read_valid_values

    rng = np.random.default_rng(1)
    data = rng.integers(1, 200, (40, 50)).astype(dtype)
    if nodata is not None and not internal_mask:
        if np.issubdtype(data.dtype, np.integer):
            info = np.iinfo(data.dtype)
            if info.min <= nodata <= info.max:
                data[5:9, 10:30] = data.dtype.type(nodata)
        else:
            data[5:9, 10:30] = nodata
            # Cells 1 to 6 ulps away from the nodata value: GDAL marks those within its
            # tolerance (about 4 ulps) as nodata too.
            near = np.full(6, nodata, dtype=data.dtype)
            for step in range(6):
                near[step:] = np.nextafter(near[step:], np.inf)
            data[10, 0:6] = near
            if nodata > np.finfo(data.dtype).min:
                data[11, 0:6] = 2 * data.dtype.type(nodata) - near
    if np.issubdtype(data.dtype, np.floating):
        data[20, 20:25] = np.nan
        data[21, 3] = np.inf
    path = tmp_path / "band.tif"
    profile = dict(
        driver="GTiff",
        width=50,
        height=40,
        count=1,
        dtype=dtype,
        transform=Affine(1, 0, 0, 0, -1, 40),
        tiled=True,
        blockxsize=16,
        blockysize=16,
    )
    if not internal_mask and nodata is not None:
        profile["nodata"] = nodata
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", **profile) as dataset:
            dataset.write(data, 1)
            if internal_mask:
                mask = np.full((40, 50), 255, np.uint8)
                mask[30:35, :] = 0
                dataset.write_mask(mask)
    with rasterio.open(path) as dataset:
        masked = dataset.read(1, masked=True)
        values, valid = read_valid_values(dataset)
        from rasterio.windows import Window

        window_values, window_valid = read_valid_values(dataset, Window(7, 3, 30, 20))
    want_valid = ~np.ma.getmaskarray(masked) & np.isfinite(masked.data.astype(np.float32))
    np.testing.assert_array_equal(valid, want_valid)
    assert not valid.all() or (nodata is None and dtype != "float32")
    np.testing.assert_array_equal(values[valid], masked.data[valid].astype(np.float32))
    assert np.isnan(values[~valid]).all() and values.dtype == np.float32
    np.testing.assert_array_equal(window_valid, valid[3:23, 7:37])
    np.testing.assert_array_equal(window_values[window_valid], values[3:23, 7:37][window_valid])

"""Undeclared fill values are nodata, with a warning; a DSM given as a CHM is named (#22 item 9).

Each raster is written twice by the test: once with the fill value undeclared, once with
it declared as nodata. Read the first way, every result must equal the second's.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.geo.nodata import sentinel_cells
from forestgaps_engine.geo.raster_io import read_band, read_height_band
from tests.data.rasters import write_raster

FLOAT32_LOWEST = float(np.finfo(np.float32).min)


def forest_dsm(seed: int = 0, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    """Ground at 300 m, canopy 20-30 m above it, a 12 x 12 gap at 1 m."""
    rng = np.random.default_rng(seed)
    heights = 300.0 + rng.uniform(20.0, 30.0, shape)
    heights[20:32, 30:42] = 301.0
    return heights.astype(np.float32)


def with_fill(values: np.ndarray, fill: float) -> np.ndarray:
    filled = values.copy()
    filled[:, :16] = fill  # an irregular footprint's empty side
    filled[60:, :] = fill
    return filled


def fill_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "declares no nodata" in r.getMessage()]


@pytest.mark.parametrize("fill", [-9999.0, FLOAT32_LOWEST, -3.4e38])
def test_undeclared_fill_reads_as_nodata_with_a_warning(tmp_path, caplog, fill):
    values = with_fill(forest_dsm(), fill)
    undeclared = write_raster(tmp_path / "undeclared.tif", values, nodata=None)
    declared = write_raster(tmp_path / "declared.tif", values, nodata=fill)
    with caplog.at_level(logging.WARNING, logger="forestgaps_engine"):
        band = read_height_band(undeclared, kind="elevation")
    expected = read_band(declared)
    np.testing.assert_array_equal(band.valid, expected.valid)
    np.testing.assert_array_equal(band.values, expected.values)
    (warning,) = fill_warnings(caplog)
    assert f"gdal_edit.py -a_nodata {np.float32(fill):g}" in warning
    assert "undeclared.tif" in warning


def test_integer_fill_and_clean_rasters(tmp_path):
    values = np.full((8, 8), 412, dtype=np.int16)
    values[0] = -32768
    assert sentinel_cells(values).sum() == 8
    assert sentinel_cells(values[1:]) is None
    assert sentinel_cells(np.arange(10, dtype=np.uint16)) is None
    floats = forest_dsm()
    floats[3, 3] = np.nan
    assert sentinel_cells(floats) is None
    floats[4, 4] = -9999.0
    assert sentinel_cells(floats).sum() == 1  # a NaN does not hide the fill value
    band = read_band(write_raster(tmp_path / "int.tif", values, nodata=None))
    assert not band.valid[0].any() and band.valid[1:].all()


def test_zero_filled_border_of_a_dsm_is_nodata_but_a_chms_zeros_are_ground(tmp_path, caplog):
    dsm = with_fill(forest_dsm(), 0.0)
    path = write_raster(tmp_path / "dsm.tif", dsm, nodata=None)
    with caplog.at_level(logging.WARNING, logger="forestgaps_engine"):
        band = read_height_band(path, kind="elevation")
    np.testing.assert_array_equal(band.valid, dsm != 0.0)
    assert any("-a_nodata 0" in message for message in fill_warnings(caplog))
    chm = np.random.default_rng(1).uniform(15.0, 30.0, (32, 32)).astype(np.float32)
    chm[:, :4] = 0.0  # a clearing on the edge: real ground
    band = read_height_band(write_raster(tmp_path / "chm.tif", chm, nodata=None), kind="chm")
    assert band.valid.all()
    # A lowland DSM keeps its zeros (sea level is a height there).
    low = with_fill(forest_dsm() - 300.0, 0.0)
    band = read_height_band(write_raster(tmp_path / "low.tif", low, nodata=None))
    assert band.valid.all()


def _gap_masks(out_dir) -> dict[str, np.ndarray]:
    masks = {}
    for path in sorted(out_dir.glob("gap_mask_t*.tif")):
        with rasterio.open(path) as dataset:
            masks[path.name] = dataset.read(1)
    return masks


def test_predict_on_undeclared_fill_equals_predict_on_declared_nodata(tmp_path, capsys):
    values = with_fill(forest_dsm(), -9999.0)
    undeclared = write_raster(tmp_path / "undeclared.tif", values, nodata=None)
    declared = write_raster(tmp_path / "declared.tif", values, nodata=-9999.0)
    common = ["--threshold", "5", "--backend", "torch", "--tile", "64", "--overlap", "8"]
    assert main(["predict", str(undeclared), *common, "--out", str(tmp_path / "u")]) == 0
    assert main(["predict", str(declared), *common, "--out", str(tmp_path / "d")]) == 0
    got, expected = _gap_masks(tmp_path / "u"), _gap_masks(tmp_path / "d")
    assert got.keys() == expected.keys() == {"gap_mask_t5.tif"}
    np.testing.assert_array_equal(got["gap_mask_t5.tif"], expected["gap_mask_t5.tif"])
    assert (got["gap_mask_t5.tif"][:, :16] == 255).all()  # the fill is nodata, not gap
    # One warning for the file, not one per window read; none for the declared file.
    assert capsys.readouterr().err.count("declares no nodata") == 1


def test_gaps_from_chm_on_undeclared_fill_equals_declared(tmp_path):
    chm = np.random.default_rng(2).uniform(10.0, 30.0, (48, 48)).astype(np.float32)
    chm[10:16, 10:16] = 0.5
    chm[:, 40:] = FLOAT32_LOWEST
    for name, nodata in (("u", None), ("d", FLOAT32_LOWEST)):
        path = write_raster(tmp_path / f"{name}.tif", chm, nodata=nodata)
        assert main(["gaps-from-chm", str(path), "--threshold", "5", "--out",
                     str(tmp_path / name)]) == 0  # fmt: skip
    with rasterio.open(tmp_path / "u" / "gaps_t5.tif") as got:
        with rasterio.open(tmp_path / "d" / "gaps_t5.tif") as expected:
            np.testing.assert_array_equal(got.read(1), expected.read(1))


def test_dsm_given_as_chm_is_named_a_dsm(tmp_path, capsys):
    rng = np.random.default_rng(3)
    dsm = rng.uniform(1346.0, 1408.0, (48, 48)).astype(np.float32)
    path = write_raster(tmp_path / "dsm.tif", dsm)
    code = main(["gaps-from-chm", str(path), "--threshold", "5", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("ERROR")]
    assert code == 2 and len(lines) == 2, err
    assert "dsm.tif" in lines[0] and "looks like a DSM (heights 1347-1407 m" in lines[0]
    assert "centimetres" not in err
    assert "DSM - DTM" in lines[1] and "predict" in lines[1]
    # A CHM in centimetres (ground near 0) still gets the unit message.
    chm_cm = rng.uniform(0.0, 3000.0, (48, 48)).astype(np.float32)
    path = write_raster(tmp_path / "chm_cm.tif", chm_cm)
    assert main(["gaps-from-chm", str(path), "--threshold", "5", "--out", str(tmp_path / "c")]) == 2
    assert "centimetres" in capsys.readouterr().err


def test_resampled_predict_does_not_blend_undeclared_fill_into_heights(tmp_path, capsys):
    # 0.25 m cells lie outside the default model's native range: predict warps the DSM.
    values = np.repeat(np.repeat(forest_dsm(), 2, 0), 2, 1)
    values[:, :33] = -9999.0  # odd: fill and heights share the warped cells on its edge
    outputs = {}
    for name, nodata in (("u", None), ("d", -9999.0)):
        path = write_raster(tmp_path / f"{name}.tif", values, resolution=0.25, nodata=nodata)
        argv = ["predict", str(path), "--threshold", "5", "--backend", "torch"]
        assert main([*argv, "--out", str(tmp_path / name)]) == 0
        outputs[name] = _gap_masks(tmp_path / name)["gap_mask_t5.tif"]
    np.testing.assert_array_equal(outputs["u"], outputs["d"])
    assert capsys.readouterr().err.count("-a_nodata -9999") == 1

"""predict's streaming reads treat an undeclared zero-filled border of a DSM as nodata, as
whole-raster reads do (#22 item 9): the masks equal those of the same DSM with nodata 0
declared, with one warning naming the value and gdal_edit.py; a lowland DSM keeps its
zeros. Rasters are written by the test."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.inference.zero_fill import has_zero_fill
from tests.data.rasters import write_raster
from tests.geo.test_nodata import _gap_masks, forest_dsm, with_fill

COMMON = ["--threshold", "5", "--backend", "torch", "--tile", "64", "--overlap", "8"]


def predict_mask(path, out, *flags: str) -> np.ndarray:
    assert main(["predict", str(path), *COMMON, *flags, "--out", str(out)]) == 0
    return _gap_masks(out)["gap_mask_t5.tif"]


def test_zero_filled_border_is_nodata_in_predict(tmp_path, capsys):
    values = with_fill(forest_dsm(), 0.0)
    undeclared = write_raster(tmp_path / "undeclared.tif", values, nodata=None)
    declared = write_raster(tmp_path / "declared.tif", values, nodata=0.0)

    got = predict_mask(undeclared, tmp_path / "u")
    err = capsys.readouterr().err
    expected = predict_mask(declared, tmp_path / "d")

    np.testing.assert_array_equal(got, expected)
    assert (got[:, :16] == 255).all() and (got[60:] == 255).all()  # nodata, not gap
    assert (got[:60, 16:] != 255).all()
    assert err.count("declares no nodata") == 1, err
    assert f"gdal_edit.py -a_nodata 0 {undeclared}" in err
    assert "declares no nodata" not in capsys.readouterr().err  # declared: no warning
    with rasterio.open(tmp_path / "u" / "gap_probability_t5.tif") as probability:
        assert probability.read(1, masked=True).mask[:, :16].all()


def test_resampled_predict_does_not_blend_zero_fill_into_heights(tmp_path, capsys):
    # 0.25 m cells lie outside the default model's native range: predict warps the DSM.
    values = np.repeat(np.repeat(forest_dsm(), 2, 0), 2, 1)
    values[:, :33] = 0.0  # odd: fill and heights share the warped cells on its edge
    masks = {}
    for name, nodata in (("u", None), ("d", 0.0)):
        path = write_raster(tmp_path / f"{name}.tif", values, resolution=0.25, nodata=nodata)
        argv = ["predict", str(path), "--threshold", "5", "--backend", "torch"]
        assert main([*argv, "--out", str(tmp_path / name)]) == 0
        masks[name] = _gap_masks(tmp_path / name)["gap_mask_t5.tif"]
    np.testing.assert_array_equal(masks["u"], masks["d"])
    assert capsys.readouterr().err.count("-a_nodata 0 ") == 1


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("fill", with_fill(forest_dsm(), 0.0), True),
        # Sea level is a height on a lowland DSM.
        ("lowland", with_fill(forest_dsm() - 300.0, 0.0), False),
        # Zeros inside but none on the border: a pit, not a fill.
        ("inner", np.where(np.pad(np.ones((4, 4)), 30) > 0, 0.0, forest_dsm()), False),
        ("clean", forest_dsm(), False),
        # The fill covers the edge strips whole: the interior tells the heights.
        ("wide", np.pad(forest_dsm(), 70), True),
    ],
)
def test_zero_fill_is_decided_from_the_edges(tmp_path, name, values, expected) -> None:
    path = write_raster(tmp_path / f"{name}.tif", values.astype(np.float32), nodata=None)
    with rasterio.open(path) as dataset:
        assert has_zero_fill(dataset) is expected

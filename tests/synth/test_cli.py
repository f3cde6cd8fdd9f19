"""``forestgaps synth`` writes the three rasters and prints their paths."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.cli.main import main


def test_cli_writes_dsm_dtm_chm(tmp_path, capsys):
    rasterio = pytest.importorskip("rasterio")
    out = tmp_path / "site"
    code = main(
        [
            "synth",
            "--out",
            str(out),
            "--size",
            "64",
            "--resolution",
            "2",
            "--seed",
            "3",
            "--crs",
            "EPSG:2154",
            "--nodata-holes",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / name) for name in ("dsm.tif", "dtm.tif", "chm.tif")]
    for name in ("dsm.tif", "dtm.tif", "chm.tif"):
        with rasterio.open(out / name) as dataset:
            assert (dataset.width, dataset.height) == (64, 64)
            assert dataset.res == (2.0, 2.0)


def test_cli_rejects_a_bad_size_with_exit_code_2(tmp_path, capsys):
    code = main(["synth", "--out", str(tmp_path), "--size", "4"])
    assert code == 2
    assert "synth.size_px" in capsys.readouterr().err


def test_cli_open_stand_share_lowers_the_canopy(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    medians = []
    for share in ("0", "1"):
        out = tmp_path / share
        args = ["synth", "--out", str(out), "--size", "128", "--seed", "5"]
        assert main([*args, "--open-stand-share", share]) == 0
        with rasterio.open(out / "chm.tif") as dataset:
            medians.append(float(np.median(dataset.read(1))))
    assert medians[1] < 0.5 * medians[0]


def test_cli_rejects_an_open_stand_share_above_one(tmp_path):
    assert main(["synth", "--out", str(tmp_path), "--open-stand-share", "2"]) == 2

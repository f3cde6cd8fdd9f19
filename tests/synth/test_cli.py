"""``forestgaps synth`` writes the three rasters and prints their paths."""

from __future__ import annotations

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

"""``forestgaps gaps-from-chm`` end to end, through cli.main as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from forestgaps_engine.cli.main import main

ogr = pytest.importorskip("osgeo.ogr")


def test_gaps_from_chm_writes_every_output(
    small_chm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "gaps-from-chm",
            str(small_chm),
            "--threshold",
            "10",
            "--threshold",
            "5",
            "--min-area",
            "0.25",
            "--max-area",
            "100",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "gaps_t10.gpkg" in printed
    for label in ("t5", "t10"):
        with rasterio.open(out / f"gaps_{label}.tif") as dataset:
            assert dataset.crs.to_epsg() == 2154
            assert dataset.dtypes[0] == "int32"
        assert (out / f"gaps_{label}_stats.csv").read_text().startswith('"gap_id","gap_area"')
        dataset = ogr.Open(str(out / f"gaps_{label}.gpkg"))
        layer = dataset.GetLayer(0)
        assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
        assert layer.GetFeatureCount() == (3 if label == "t10" else 2)
        del dataset
    summary = json.loads((out / "summary.json").read_text())
    assert summary["thresholds"]["t10"]["n_gaps"] == 3
    assert summary["max_area_m2"] == 100.0


def test_crs_option_and_user_errors_exit_2_without_files(
    small_chm: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    assert main(["gaps-from-chm", str(small_chm), "--threshold", "-1", "--out", str(out)]) == 2
    assert (
        main(
            [
                "gaps-from-chm",
                str(small_chm),
                "--threshold",
                "5",
                "--min-area",
                "9",
                "--max-area",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    missing = tmp_path / "missing.tif"
    assert main(["gaps-from-chm", str(missing), "--threshold", "5", "--out", str(out)]) == 2
    assert (
        main(
            [
                "gaps-from-chm",
                str(small_chm),
                "--threshold",
                "5",
                "--crs",
                "EPSG:nope",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert not out.exists()
    assert "larger than max_area_m2" in caplog.text
    code = main(
        [
            "gaps-from-chm",
            str(small_chm),
            "--threshold",
            "5",
            "--crs",
            "EPSG:2154",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["crs"] == "EPSG:2154"

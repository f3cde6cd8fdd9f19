"""Point cloud rasterisation on small synthetic LAS/LAZ files written with laspy."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.errors import (
    CancelledError,
    ConfigError,
    DataError,
    InvalidDataFormatError,
)
from forestgaps_engine.geo.lidar import rasterize_point_cloud
from forestgaps_engine.geo.raster_io import read_band
from tests.data.rasters import ORIGINS, forest_cloud, is_cog, write_las

X0, Y_TOP = ORIGINS["EPSG:26912"]


@pytest.fixture
def raw_cloud(tmp_path):
    return write_las(tmp_path / "forest.laz", *forest_cloud(seed=4))


@pytest.fixture
def normalised_cloud(tmp_path):
    x, y, z, classification = forest_cloud(seed=5, ground_at_m=0.0, slope=0.0)
    return write_las(tmp_path / "normalised.laz", x, y, z, classification)


def test_raw_cloud_gives_dsm_dtm_chm_on_a_snapped_grid(raw_cloud, tmp_path):
    fractions = []
    out = rasterize_point_cloud(
        raw_cloud, 1.0, tmp_path / "out", progress=lambda f, _m: fractions.append(f)
    )
    assert set(out) == {"dsm", "dtm", "chm"}
    assert fractions[-1] == pytest.approx(1.0) and fractions == sorted(fractions)
    dtm, chm = read_band(out["dtm"]), read_band(out["chm"])
    assert chm.grid.crs == "EPSG:26912"
    assert chm.grid.resolution_m == (1.0, 1.0)
    left, bottom, right, top = chm.grid.bounds
    assert (left, top) == (X0, Y_TOP) and right - left == 40 and top - bottom == 40
    assert all(is_cog(path) for path in out.values())
    # DTM follows the synthetic slope: 200 m + 0.2 m per metre east.
    rows, cols = np.mgrid[0:40, 0:40]
    expected_ground = 200.0 + 0.2 * (cols + 0.5)
    assert np.abs(dtm.values - expected_ground)[dtm.valid].max() < 0.6
    # Canopy 18-22 m around a round gap of radius 8 m at the centre.
    distance = np.hypot(rows + 0.5 - 20, cols + 0.5 - 20)
    assert np.nanmedian(chm.values[distance > 11]) == pytest.approx(20.0, abs=1.5)
    assert np.nanmax(chm.values[distance < 5]) < 1.0
    assert np.nanmin(chm.values) >= 0.0


def test_normalised_cloud_is_recognised_and_rasterised_as_chm(normalised_cloud, tmp_path):
    out_dir = tmp_path / "out"
    with pytest.raises(DataError, match="height-normalised") as caught:
        rasterize_point_cloud(normalised_cloud, 1.0, out_dir)
    assert "--normalized chm" in caught.value.hint
    assert list(out_dir.iterdir()) == []
    out = rasterize_point_cloud(normalised_cloud, 2.0, out_dir, normalized="chm")
    assert list(out) == ["chm"]
    chm = read_band(out["chm"])
    # Edges snap to multiples of 2 m: the 3 813 011 m top edge moves up to 3 813 012 m.
    assert chm.grid.transform.f == 3_813_012.0 and chm.grid.transform.c % 2 == 0
    assert chm.grid.shape == (21, 20)
    assert 0.0 <= np.nanmin(chm.values) and np.nanmax(chm.values) < 23.0


def test_chm_mode_refuses_a_raw_cloud(raw_cloud, tmp_path):
    with pytest.raises(DataError, match="not height-normalised"):
        rasterize_point_cloud(raw_cloud, 1.0, tmp_path / "out", normalized="chm")


def test_truncated_laz_is_rejected_and_leaves_nothing(raw_cloud, tmp_path):
    truncated = tmp_path / "cut.laz"
    truncated.write_bytes(raw_cloud.read_bytes()[: raw_cloud.stat().st_size // 2])
    out_dir = tmp_path / "out"
    with pytest.raises(InvalidDataFormatError, match="cut.laz"):
        rasterize_point_cloud(truncated, 1.0, out_dir)
    assert list(out_dir.iterdir()) == []


def test_text_file_named_laz_is_rejected(tmp_path):
    fake = tmp_path / "fake.laz"
    fake.write_text("not a point cloud\n" * 20)
    with pytest.raises(InvalidDataFormatError, match="fake.laz"):
        rasterize_point_cloud(fake, 1.0, tmp_path / "out")


def test_cloud_without_ground_or_crs(tmp_path):
    x, y, z, _ = forest_cloud(seed=6)
    cloud = write_las(tmp_path / "noground.las", x, y, z, np.ones(x.size), crs=None)
    with pytest.raises(DataError, match="no ground point"):
        rasterize_point_cloud(cloud, 1.0, tmp_path / "out", crs="EPSG:26912")


def test_bad_resolution_is_a_config_error(raw_cloud, tmp_path):
    with pytest.raises(ConfigError, match="resolution_m"):
        rasterize_point_cloud(raw_cloud, 0.0, tmp_path / "out")


def test_cancel_leaves_nothing(raw_cloud, tmp_path):
    out_dir = tmp_path / "out"
    with pytest.raises(CancelledError):
        rasterize_point_cloud(raw_cloud, 1.0, out_dir, cancel=lambda: True)
    assert list(out_dir.iterdir()) == []


def test_cancel_during_writes_removes_finished_outputs(raw_cloud, tmp_path):
    out_dir = tmp_path / "out"
    calls = {"n": 0}

    def cancel_on_second_write(fraction: float, message: str) -> None:
        if message == "wrote dtm.tif":
            calls["n"] += 1

    with pytest.raises(CancelledError):
        rasterize_point_cloud(
            raw_cloud,
            1.0,
            out_dir,
            progress=cancel_on_second_write,
            cancel=lambda: calls["n"] > 0,
        )
    assert list(out_dir.iterdir()) == []


def test_cli_rasterize(raw_cloud, tmp_path):
    out_dir = tmp_path / "cli"
    assert main(["rasterize", str(raw_cloud), "--resolution", "2", "--out", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["chm.tif", "dsm.tif", "dtm.tif"]
    with rasterio.open(out_dir / "chm.tif") as dataset:
        assert dataset.res == (2.0, 2.0) and dataset.crs.to_epsg() == 26912
    code = main(["rasterize", str(tmp_path / "missing.laz"), "--out", str(out_dir)])
    assert code == 2


def test_small_chunks_give_the_same_rasters(raw_cloud, tmp_path, monkeypatch):
    import forestgaps_engine.geo.lidar as lidar

    whole = rasterize_point_cloud(raw_cloud, 1.0, tmp_path / "whole")
    monkeypatch.setattr(lidar, "CHUNK_POINTS", 500)
    chunked = rasterize_point_cloud(raw_cloud, 1.0, tmp_path / "chunked")
    for name in ("dsm", "dtm", "chm"):
        np.testing.assert_array_equal(
            read_band(whole[name]).values, read_band(chunked[name]).values
        )

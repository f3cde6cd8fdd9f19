"""gaps_from_chm end to end: outputs, CRS, summary, validation, cancel and cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from forestgaps_engine.errors import (
    CancelledError,
    ConfigError,
    CRSMismatchError,
    InvalidDataFormatError,
)
from forestgaps_engine.gaps import pipeline
from forestgaps_engine.gaps.pipeline import gaps_from_chm, threshold_label
from tests.gaps.conftest import small_chm_heights, write_chm

ogr = pytest.importorskip("osgeo.ogr")


def test_outputs_per_threshold_and_summary(small_chm: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    events: list[tuple[float, str]] = []
    result = gaps_from_chm(
        small_chm, [10, 5, 10], out, min_area_m2=0.25, progress=lambda f, m: events.append((f, m))
    )
    assert [t.label for t in result.thresholds] == ["t5", "t10"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json"]
        + [f"gaps_{t}{s}" for t in ("t5", "t10") for s in (".tif", "_stats.csv", ".gpkg")]
        + [f"size_frequency_{t}.png" for t in ("t5", "t10")]
    )
    with rasterio.open(out / "gaps_t10.tif") as dataset:
        labels = dataset.read(1)
        assert dataset.dtypes[0] == "int32"
        assert dataset.crs.to_epsg() == 2154
        assert dataset.transform == rasterio.open(small_chm).transform
    assert labels.max() == 3 and labels[2, 2] == 1 and labels[10, 15] == 2 and labels[17, 3] == 3
    t10 = result.thresholds[1]
    assert (t10.n_gaps, t10.total_gap_area_m2, t10.largest_gap_m2) == (3, 5.75, 4.0)
    valid_area_m2 = (20 * 24 - 12) * 0.25
    assert t10.gap_fraction == pytest.approx(5.75 / valid_area_m2)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["crs"] == "EPSG:2154"
    assert summary["thresholds"]["t5"]["n_gaps"] == 2
    assert summary["thresholds"]["t10"]["lambda_hanel"] == pytest.approx(t10.lambda_hanel)
    assert summary["thresholds"]["t10"]["files"]["gpkg"] == "gaps_t10.gpkg"
    csv_lines = (out / "gaps_t10_stats.csv").read_text().splitlines()
    assert csv_lines[3] == "3,0.25,1,1,1,NA,NA,0"
    assert events[0][0] == 0.0 and events[-1][0] == 1.0
    assert all(a[0] <= b[0] for a, b in zip(events, events[1:], strict=False))


def test_geopackage_polygons_match_the_raster(small_chm: Path, tmp_path: Path) -> None:
    gaps_from_chm(small_chm, [10], tmp_path, min_area_m2=0.25)
    dataset = ogr.Open(str(tmp_path / "gaps_t10.gpkg"))
    layer = dataset.GetLayer(0)
    assert layer.GetName() == "gaps_t10"
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    features = {f.GetField("gap_id"): f for f in layer}
    assert sorted(features) == [1, 2, 3]
    assert features[1].GetField("area_m2") == 4.0
    assert features[1].GetGeometryRef().GetArea() == pytest.approx(4.0)
    assert features[1].GetField("perimeter_m") == pytest.approx(8.0)
    assert features[2].GetField("chm_mean") == 8.0
    assert features[3].IsFieldNull("chm_sd")
    minx, maxx, miny, maxy = features[1].GetGeometryRef().GetEnvelope()
    assert (minx, maxy) == (700001.0, 6599999.0)
    del dataset


def test_fractional_threshold_label_and_layer(small_chm: Path, tmp_path: Path) -> None:
    assert threshold_label(7.5) == "t7.5" and threshold_label(10.0) == "t10"
    result = gaps_from_chm(small_chm, [7.5], tmp_path)
    dataset = ogr.Open(str(result.thresholds[0].gpkg_path))
    assert dataset.GetLayer(0).GetName() == "gaps_t7_5"
    del dataset


def test_crs_less_chm_gets_the_override(tmp_path: Path) -> None:
    chm = write_chm(tmp_path / "nocrs.tif", small_chm_heights(), crs=None)
    result = gaps_from_chm(chm, [5], tmp_path / "a")
    assert result.crs is None
    assert rasterio.open(result.thresholds[0].raster_path).crs is None
    result = gaps_from_chm(chm, [5], tmp_path / "b", crs="EPSG:2154")
    assert rasterio.open(result.thresholds[0].raster_path).crs.to_epsg() == 2154


def test_no_gap_gives_empty_outputs(small_chm: Path, tmp_path: Path) -> None:
    result = gaps_from_chm(small_chm, [0.5], tmp_path)
    only = result.thresholds[0]
    assert (only.n_gaps, only.largest_gap_m2, only.lambda_hanel, only.lambda_asner) == (
        0,
        0.0,
        None,
        None,
    )
    assert not rasterio.open(only.raster_path).read(1).any()
    assert ogr.Open(str(only.gpkg_path)).GetLayer(0).GetFeatureCount() == 0


@pytest.mark.parametrize(
    ("thresholds", "min_area", "max_area", "match"),
    [
        ([0.0], 1.0, 10.0, "not a positive height"),
        ([-2.0, 5.0], 1.0, 10.0, "not a positive height"),
        ([], 1.0, 10.0, "no threshold"),
        ([5.0], 20.0, 10.0, "larger than"),
        ([5.0], -1.0, 10.0, ">= 0"),
    ],
)
def test_bad_parameters_raise_config_error_and_write_nothing(
    small_chm: Path,
    tmp_path: Path,
    thresholds: list,
    min_area: float,
    max_area: float,
    match: str,
) -> None:
    with pytest.raises(ConfigError, match=match):
        gaps_from_chm(small_chm, thresholds, tmp_path / "out", min_area, max_area)
    assert not (tmp_path / "out").exists()


def test_not_a_raster_and_geographic_crs(tmp_path: Path) -> None:
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InvalidDataFormatError):
        gaps_from_chm(text, [5], tmp_path / "out")
    chm = write_chm(tmp_path / "geo.tif", small_chm_heights(), crs="EPSG:4326")
    with pytest.raises(CRSMismatchError, match="degrees"):
        gaps_from_chm(chm, [5], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cancel_removes_everything_already_written(small_chm: Path, tmp_path: Path) -> None:
    calls = []

    def cancel_late() -> bool:
        calls.append(1)
        return len(calls) > 9  # after the first threshold's files exist

    out = tmp_path / "out"
    with pytest.raises(CancelledError):
        gaps_from_chm(small_chm, [5, 10], out, cancel=cancel_late)
    assert len(calls) > 9
    assert not out.exists()


def test_failure_at_a_later_threshold_leaves_no_file(
    small_chm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline._write_gap_polygons
    calls = []

    def fail_second(*args: object) -> Path:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args)

    monkeypatch.setattr(pipeline, "_write_gap_polygons", fail_second)
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    with pytest.raises(OSError, match="disk full"):
        gaps_from_chm(small_chm, [5, 10], out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

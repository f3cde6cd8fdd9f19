"""``forestgaps change``: GapChangeDec cells, classes, events, summary, grids, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from forestgaps_engine.cli.main import main
from forestgaps_engine.detection.change import gap_change
from forestgaps_engine.errors import CancelledError
from forestgaps_engine.gaps.change import CHANGE_NODATA, gap_change_cells
from forestgaps_engine.gaps.change_inputs import DateInputs
from forestgaps_engine.gaps.events import gap_events

ogr = pytest.importorskip("osgeo.ogr")

ORIGIN = (500000.0, 4600000.0)


def write_raster(
    path: Path, values: np.ndarray, cell_m: float = 1.0, crs: str | None = "EPSG:32631",
    origin: tuple[float, float] = ORIGIN,
) -> Path:  # fmt: skip
    transform = Affine(cell_m, 0.0, origin[0], 0.0, -cell_m, origin[1])
    with rasterio.open(
        path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=-9999.0,
    ) as dataset:  # fmt: skip
        dataset.write(np.where(np.isnan(values), -9999.0, values).astype("float32"), 1)
    return path


def two_dates() -> tuple[np.ndarray, np.ndarray]:
    """(30, 30) canopy at 20-25 m; before: gaps A (persistent), B (closes), C (grows);
    after: A, C grown, D new; a nodata cell in each date."""
    rng = np.random.default_rng(3)
    before = 20.0 + 5.0 * rng.random((30, 30))
    after = 20.0 + 5.0 * rng.random((30, 30))
    before[2:5, 2:5] = 2.0  # A, 9 cells
    after[2:5, 2:5] = 2.5
    before[10:12, 20:23] = 1.0  # B, 6 cells, closes
    before[20:22, 5:7] = 3.0  # C, 4 cells
    after[20:24, 5:8] = 3.0  # C grown to 12 cells
    after[25:28, 20:22] = 1.0  # D, 6 cells, new
    before[0, 29] = np.nan
    after[29, 0] = np.nan
    return before, after


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    before, after = two_dates()
    return write_raster(tmp_path / "before.tif", before), write_raster(tmp_path / "after.tif", after)


def test_gap_change_cells_is_forestgapr_gapchangedec() -> None:
    before = np.array([[0, 1, 1], [0, 0, 2]])
    after = np.array([[3, 3, 0], [0, 4, 4]])
    expected = np.array([[2, CHANGE_NODATA, CHANGE_NODATA], [CHANGE_NODATA, 2, CHANGE_NODATA]])
    np.testing.assert_array_equal(gap_change_cells(before, after), expected)


def test_events_match_overlaps() -> None:
    before = np.zeros((6, 6), np.int32)
    after = np.zeros((6, 6), np.int32)
    before[0:2, 0:2] = 1  # persists as after 1
    after[0:2, 0:2] = 1
    before[4, 4] = 2  # closes
    before[3, 0] = 3  # grows into after 2
    after[3:5, 0:2] = 2
    after[0, 5] = 3  # new
    events = gap_events(before, after, cell_area_m2=0.25)
    assert list(events.kind) == ["persistent", "expansion", "new", "closure"]
    assert list(events.area_before_m2) == [1.0, 0.25, 0.0, 0.25]
    assert list(events.area_after_m2) == [1.0, 1.0, 0.25, 0.0]
    assert list(events.new_area_m2) == [0.0, 0.75, 0.25, 0.0]
    assert list(events.gap_id_before) == ["1", "3", "", "2"]


def test_change_writes_every_output(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["change", str(pair[0]), str(pair[1]), "--threshold", "5", "--out", str(out),
                 "--dates", "2020-01-01", "2022-01-01"])  # fmt: skip
    assert code == 0
    assert "both dates share one grid" in capsys.readouterr().out
    with rasterio.open(out / "change_t5.tif") as dataset:
        assert dataset.dtypes[0] == "int32" and dataset.nodata == CHANGE_NODATA
        assert dataset.crs.to_epsg() == 32631
        change = dataset.read(1)
    # New cells: C's 8 added cells and D's 6.
    assert np.count_nonzero(change == 2) == 14
    assert set(np.unique(change)) == {2, CHANGE_NODATA}
    with rasterio.open(out / "change_classes_t5.tif") as dataset:
        classes = dataset.read(1)
        assert dataset.nodata == 255
    assert np.count_nonzero(classes == 1) == 9 + 4  # A and C's old cells
    assert np.count_nonzero(classes == 2) == 14
    assert np.count_nonzero(classes == 3) == 6  # B
    assert classes[0, 29] == 255 and classes[29, 0] == 255
    dataset = ogr.Open(str(out / "gap_events_t5.gpkg"))
    layer = dataset.GetLayer(0)
    kinds = sorted(feature.GetField("event") for feature in layer)
    assert kinds == ["closure", "expansion", "new", "persistent"]
    layer.SetAttributeFilter("event = 'expansion'")
    grown = layer.GetNextFeature()
    assert grown.GetField("area_before_m2") == 4.0 and grown.GetField("area_after_m2") == 12.0
    assert grown.GetGeometryRef().GetArea() == pytest.approx(12.0)
    assert dataset.ExecuteSQL("SELECT HasSpatialIndex('gap_events_t5', 'geom')").GetNextFeature().GetField(0) == 1  # noqa: E501
    del dataset
    assert (out / "size_frequency_t5.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    figures = summary["thresholds"]["t5"]
    assert figures["new_gap_area_m2"] == 14.0 and figures["new_gap_count"] == 1
    assert figures["closed_gap_area_m2"] == 6.0
    observed_ha = (900 - 2) / 10_000
    years = 731 / 365.25
    assert figures["rates"]["new_gap_area_m2_per_ha_per_year"] == pytest.approx(
        14.0 / observed_ha / years
    )
    assert figures["rates"]["new_gaps_per_ha_per_year"] == pytest.approx(1 / observed_ha / years)


def test_dates_on_different_grids_and_crs_go_onto_the_finer(tmp_path: Path) -> None:
    before, after = two_dates()
    before_path = write_raster(tmp_path / "before.tif", before)
    # The second survey at 0.5 m in Lambert-93 (EPSG:2154) over the same ground.
    from rasterio.warp import transform as transform_points

    xs, ys = transform_points("EPSG:32631", "EPSG:2154", [ORIGIN[0]], [ORIGIN[1]])
    fine = np.kron(after, np.ones((2, 2)))
    after_path = write_raster(tmp_path / "after.tif", fine, cell_m=0.5, crs="EPSG:2154",
                              origin=(round(xs[0]), round(ys[0])))  # fmt: skip
    result = gap_change(DateInputs(before_path, after_path), [5.0], tmp_path / "out")
    assert "after grid (the finer one)" in result.grid_message
    assert result.summary["grid"]["source"] == "after"
    with rasterio.open(tmp_path / "out" / "change_t5.tif") as dataset:
        assert dataset.crs.to_epsg() == 2154 and dataset.res == (0.5, 0.5)


def test_dsm_with_a_dtm_per_date(pair: tuple[Path, Path], tmp_path: Path) -> None:
    ground = np.full((30, 30), 100.0)
    dtm = write_raster(tmp_path / "dtm.tif", ground)
    before, after = two_dates()
    dsm_before = write_raster(tmp_path / "dsm_before.tif", before + 100.0)
    dsm_after = write_raster(tmp_path / "dsm_after.tif", after + 100.0)
    out = tmp_path / "out"
    code = main(["change", str(dsm_before), str(dsm_after), "--input", "dsm", "--dtm", str(dtm),
                 "--dtm", str(dtm), "--threshold", "5", "--out", str(out)])  # fmt: skip
    assert code == 0
    figures = json.loads((out / "summary.json").read_text())["thresholds"]["t5"]
    assert figures["new_gap_area_m2"] == 14.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dates", "2022-01-01", "2020-01-01"], "not after the first"),
        (["--dates", "2020-13-01", "2022-01-01"], "YYYY-MM-DD"),
        (["--dtm", "x.tif"], "--input is chm"),
        (["--min-area", "50", "--max-area", "10"], "--min-area must be <= --max-area"),
    ],
)
def test_user_errors_exit_2_without_files(
    pair: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture,
    extra: list[str], message: str,
) -> None:  # fmt: skip
    out = tmp_path / "out"
    code = main(["change", str(pair[0]), str(pair[1]), "--threshold", "5", "--out", str(out),
                 *extra])  # fmt: skip
    assert code == 2
    assert message in caplog.text
    assert not out.exists()


def test_one_date_without_crs_is_a_user_error(tmp_path: Path) -> None:
    before, after = two_dates()
    first = write_raster(tmp_path / "before.tif", before)
    second = write_raster(tmp_path / "after.tif", after, crs=None)
    assert main(["change", str(first), str(second), "--threshold", "5",
                 "--out", str(tmp_path / "out")]) == 2  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_cancel_leaves_nothing(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    messages: list[str] = []

    def progress(fraction: float, message: str) -> None:
        messages.append(message)

    # Cancel once the second threshold starts: the first threshold's files are removed.
    with pytest.raises(CancelledError):
        gap_change(DateInputs(*pair), [5.0, 10.0], out, progress=progress,
                   cancel=lambda: any(m.startswith("t10") for m in messages))  # fmt: skip
    assert not out.exists()


def test_cau_2012_2014_matches_forestgapr_exactly(shared_data: Path, tmp_path: Path) -> None:
    before = shared_data / "ALS_CHM_CAU_2012.tif"
    after = shared_data / "cau2014" / "ALS_CHM_CAU_2014.tif"
    result = gap_change(DateInputs(before, after), [5.0, 10.0], tmp_path, 1.0, 10000.0)
    for threshold in (5, 10):
        expected_path = shared_data / "cau2014" / "change" / (
            f"CAU_2012_2014_t{threshold}_s1-10000_change.tif"
        )
        with rasterio.open(expected_path) as expected, rasterio.open(
            tmp_path / f"change_t{threshold}.tif"
        ) as ours:
            assert ours.dtypes == expected.dtypes and ours.nodata == expected.nodata
            assert ours.transform == expected.transform
            assert int(np.count_nonzero(ours.read(1) != expected.read(1))) == 0
        figures = result.summary["thresholds"][f"t{threshold}"]
        assert figures["new_gap_area_m2"] > 0

"""User mistakes exit 2 with one line naming the file, the value and the fix (issue #23).

Every input is written by the test; the CLI runs through ``main([...])`` in process, or as
a real subprocess where stderr as the user sees it matters (GDAL's own messages).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.machine import available_memory_bytes
from tests.data.rasters import plane_raster, random_chm, write_las, write_raster


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR")]


def assert_user_error(code: int, stderr: str, *names: str) -> None:
    """Exit 2, one error line and one hint line, naming each of ``names``, no traceback."""
    assert code == 2, stderr
    lines = error_lines(stderr)
    assert len(lines) == 2 and lines[1].startswith("ERROR: hint:"), stderr
    assert "Internal error" not in stderr and "Traceback" not in stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


def truncated_copy(source, target):
    payload = source.read_bytes()
    target.write_bytes(payload[: len(payload) // 2])
    return target


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forestgaps_engine.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_truncated_geotiff_in_gaps_from_chm_is_a_user_error(tmp_path):
    chm = truncated_copy(random_chm(tmp_path / "full.tif", shape=(64, 64)), tmp_path / "cut.tif")
    completed = run_cli("gaps-from-chm", str(chm), "--threshold", "5", "--out", str(tmp_path / "o"))
    assert_user_error(completed.returncode, completed.stderr, "cut.tif", "truncated")
    # GDAL's own "ERROR 1: TIFFReadEncodedStrip" lines stay out of the user's terminal.
    assert "TIFFReadEncodedStrip() failed.\n" not in completed.stderr
    assert not (tmp_path / "o").exists()


def test_truncated_geotiff_in_evaluate_is_a_user_error(tmp_path, capsys):
    dsm = plane_raster(tmp_path / "dsm.tif", shape=(64, 64))
    chm = truncated_copy(random_chm(tmp_path / "full.tif", shape=(64, 64)), tmp_path / "cut.tif")
    code = main(["evaluate", "--dsm", str(dsm), "--chm", str(chm), "--out", str(tmp_path / "o")])
    assert_user_error(code, capsys.readouterr().err, "cut.tif", "truncated")


def test_truncated_las_given_as_chm_is_a_user_error(tmp_path, capsys):
    x = np.linspace(481_260.0, 481_300.0, 400)
    las = write_las(tmp_path / "cloud.las", x, x - 481_260.0 + 3_813_011.0, x * 0 + 200.0,
                    np.full(400, 2))  # fmt: skip
    cut = truncated_copy(las, tmp_path / "cut.las")
    code = main(["gaps-from-chm", str(cut), "--threshold", "5", "--out", str(tmp_path / "o")])
    assert_user_error(code, capsys.readouterr().err, "cut.las")
    code = main(["evaluate", "--chm", str(cut), "--out", str(tmp_path / "e")])
    assert_user_error(code, capsys.readouterr().err, "cut.las")


def test_one_cell_raster_in_evaluate_leaves_nothing(tmp_path, capsys):
    one = write_raster(tmp_path / "one.tif", np.array([[5.0]], dtype=np.float32))
    out = tmp_path / "o"
    code = main(["evaluate", "--dsm", str(one), "--chm", str(one), "--model", "default",
                 "--out", str(out)])  # fmt: skip
    assert_user_error(code, capsys.readouterr().err, "one.tif", "1 x 1")
    assert not (out / "model_predictions").exists()
    assert not out.exists()


def test_absurd_threshold_is_a_user_error(tmp_path, capsys):
    chm = random_chm(tmp_path / "chm.tif")
    code = main(["gaps-from-chm", str(chm), "--threshold", "1e30", "--out", str(tmp_path / "o")])
    assert_user_error(code, capsys.readouterr().err, "1e+30")
    assert not (tmp_path / "o").exists()


def test_raster_too_large_for_memory_is_refused_before_reading(tmp_path, capsys):
    # Sparse: a few MB on disk, ~200k x 200k cells (hundreds of GB once decoded).
    side_px = 200_000
    assert side_px * side_px * 4 > available_memory_bytes()
    path = tmp_path / "huge.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=side_px, height=side_px, count=1, dtype="float32",
        crs="EPSG:2154", transform=rasterio.Affine(1, 0, 700_000, 0, -1, 6_600_000), tiled=True, blockxsize=4096,
        blockysize=4096, compress="deflate", sparse_ok=True, BIGTIFF="YES",
    ):  # fmt: skip
        pass
    code = main(["gaps-from-chm", str(path), "--threshold", "5", "--out", str(tmp_path / "o")])
    assert_user_error(code, capsys.readouterr().err, "huge.tif", "200000 x 200000", "GB")


def test_unwritable_log_file_is_a_user_error(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    log_file = blocker / "run.log"  # a file stands where its folder should be
    code = main(["--log-file", str(log_file), "info"])
    assert_user_error(code, capsys.readouterr().err, "--log-file", str(log_file))


def test_min_area_above_max_area_names_the_flags(tmp_path, capsys):
    dsm = plane_raster(tmp_path / "dsm.tif")
    code = main(["predict", str(dsm), "--min-area", "100", "--max-area", "10",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert_user_error(code, err, "--min-area (100)", "--max-area (10)")
    assert "pydantic" not in err and "validation error" not in err
    assert "--min-area must be <= --max-area" in error_lines(err)[1]


@pytest.mark.parametrize("flag", ["--tile", "--overlap"])
def test_predict_option_errors_name_the_flag(tmp_path, capsys, flag):
    dsm = plane_raster(tmp_path / "dsm.tif")
    values = {"--tile": ["--tile", "16"], "--overlap": ["--tile", "64", "--overlap", "40"]}
    code = main(["predict", str(dsm), *values[flag], "--out", str(tmp_path / "o")])
    assert_user_error(code, capsys.readouterr().err, flag)


def test_batch_goes_on_past_a_bad_dsm_and_exits_2(tmp_path, capsys):
    folder = tmp_path / "dsms"
    folder.mkdir()
    plane_raster(folder / "a.tif", shape=(64, 64))
    truncated_copy(plane_raster(tmp_path / "b_full.tif", shape=(64, 64)), folder / "b.tif")
    plane_raster(folder / "c.tif", shape=(64, 64))
    out = tmp_path / "out"
    code = main(["predict", str(folder), "--threshold", "5", "--backend", "torch",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert_user_error(code, err, "1 of 3", "b.tif")
    assert "skipped" in err
    # The DSMs after the bad one were predicted; the bad one left no folder.
    assert sorted(path.name for path in out.iterdir()) == ["a", "c"]
    assert (out / "c" / "gap_mask_t5.tif").is_file()

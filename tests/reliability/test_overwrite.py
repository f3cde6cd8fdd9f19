"""An output never replaces an input: refused before anything runs, exit 2, input intact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forestgaps_engine.errors import DataError
from forestgaps_engine.files import refuse_overwriting_inputs
from tests.reliability.helpers import digest, leftovers, run_cli, write_chm


def test_gaps_from_chm_refuses_to_write_over_its_chm(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    chm = write_chm(out / "gaps_t5.tif", 64)
    before = digest(chm)

    result = run_cli("gaps-from-chm", chm, "--threshold", "5", "--out", out)

    assert result.returncode == 2, result.stderr
    assert f"{chm}: this output would overwrite the input {chm}" in result.stderr
    assert "--out" in result.stderr
    assert digest(chm) == before
    assert sorted(p.name for p in out.iterdir()) == ["gaps_t5.tif"]


def test_predict_refuses_to_write_over_its_dsm(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    dsm = write_chm(out / "gap_probability_t5.tif", 64)
    before = digest(dsm)

    result = run_cli("predict", dsm, "--threshold", "5", "--out", out)

    assert result.returncode == 2, result.stderr
    assert "this output would overwrite the input" in result.stderr
    assert digest(dsm) == before
    assert sorted(p.name for p in out.iterdir()) == ["gap_probability_t5.tif"]


def test_an_output_folder_reached_through_a_symlink_is_the_same_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    chm = write_chm(real / "gaps_t5.tif", 64)
    before = digest(chm)
    (tmp_path / "link").symlink_to(real)

    result = run_cli("gaps-from-chm", chm, "--threshold", "5", "--out", tmp_path / "link")

    assert result.returncode == 2, result.stderr
    assert digest(chm) == before


def test_log_file_naming_an_input_is_refused(tmp_path: Path) -> None:
    chm = write_chm(tmp_path / "chm.tif", 64)
    before = digest(chm)

    result = run_cli(
        "--log-file", chm, "gaps-from-chm", chm, "--threshold", "5", "--out", tmp_path / "o"
    )

    assert result.returncode == 2, result.stderr
    assert f"--log-file {chm}: this output would overwrite the input" in result.stderr
    assert digest(chm) == before
    assert not (tmp_path / "o").exists()


def test_a_hard_link_to_an_input_counts_as_the_input(tmp_path: Path) -> None:
    chm = write_chm(tmp_path / "chm.tif", 16)
    os.link(chm, tmp_path / "same.tif")

    with pytest.raises(DataError, match="would overwrite the input"):
        refuse_overwriting_inputs([chm], [tmp_path / "same.tif"])
    refuse_overwriting_inputs([chm], [tmp_path / "other.tif", None])


def test_distinct_thresholds_with_one_file_name_are_refused(tmp_path: Path) -> None:
    chm = write_chm(tmp_path / "chm.tif", 64)
    for command in ("gaps-from-chm", "predict"):
        out = tmp_path / command
        result = run_cli(command, chm, "--threshold", "5", "--threshold", "5.0000001", "--out", out)

        assert result.returncode == 2, result.stderr
        assert "thresholds 5.0 m and 5.0000001 m would both write files named *_t5*" in (
            result.stderr
        )
        assert not out.exists() or leftovers(out) == list(out.iterdir()) == []


def test_evaluate_refuses_to_write_over_its_reference(tmp_path: Path) -> None:
    out = tmp_path / "o"
    (out / "baselines").mkdir(parents=True)
    chm = write_chm(out / "baselines" / "dsm_only_mask_t5.tif", 64)
    before = digest(chm)

    from forestgaps_engine.evaluation.api import evaluate

    with pytest.raises(DataError, match="would overwrite the input"):
        evaluate(chm, None, [5.0], out)
    assert digest(chm) == before


def test_rasterize_refuses_to_write_over_its_cloud(tmp_path: Path) -> None:
    from tests.data.rasters import forest_cloud, write_las

    # A LAS file with a raster's name: the check runs before the cloud is opened.
    cloud = write_las(tmp_path / "chm.tif", *forest_cloud())
    before = digest(cloud)

    result = run_cli("rasterize", cloud, "--out", tmp_path)

    assert result.returncode == 2, result.stderr
    assert "this output would overwrite the input" in result.stderr
    assert digest(cloud) == before

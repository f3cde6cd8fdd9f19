"""The CLI face of ``detect``: predict offers the classic fallback (--chm/--dtm) and the
extent like the panel, and refuses them with several DSMs (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forestgaps_engine.cli.main import main


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    return write_forest(generate_forest(64, seed=7), tmp_path_factory.mktemp("site"))


def test_predict_falls_back_to_the_classic_rule_on_dsm_minus_dtm(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    code = main([
        "predict", str(site["dsm"]), "--dtm", str(site["dtm"]), "--model", str(tmp_path / "none"),
        "--threshold", "5", "--min-area", "1", "--max-area", "20",
        "--extent", "0", "0", "1e7", "1e7", "--out", str(out),
    ])  # fmt: skip

    assert code == 0
    assert "ran the classic detector on the DSM - DTM" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["max_area_m2"] == 20.0 and (out / "gaps_t5.tif").is_file()


def test_predict_refuses_a_reference_with_several_dsms(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main([
        "predict", str(site["dsm"].parent), "--chm", str(site["chm"]), "--out", str(tmp_path / "o"),
    ])  # fmt: skip

    assert code == 2
    assert "--chm goes with one DSM file" in capsys.readouterr().err

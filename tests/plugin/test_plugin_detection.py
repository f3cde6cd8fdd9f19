"""InferenceParams checks and run_detection without the GUI: extent clip, DTM path, cleanup."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 64 px synthetic forest at 1 m (EPSG:2154)."""
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    return write_forest(generate_forest(64, seed=7), tmp_path_factory.mktemp("site"))


def test_params_problems_name_the_value_and_the_fix(tmp_path: Path) -> None:
    from plugin.dock.params import InferenceParams

    dsm = tmp_path / "dsm.tif"
    dsm.write_bytes(b"")
    assert InferenceParams(dsm_path=str(dsm)).problems() == []
    bad = InferenceParams(
        dsm_path=str(dsm), thresholds_m=(), tile_size_px=64, overlap_px=32, batch_size=0,
        extent_mode="canvas", extent=(10.0, 0.0, 5.0, 1.0), min_gap_area_m2=-1.0,
    )  # fmt: skip
    text = " ".join(bad.problems())
    assert "No threshold is listed" in text
    assert "Overlap 32 px" in text and "Batch size 0" in text
    assert "Extent (10.0, 0.0, 5.0, 1.0) is empty" in text
    assert "Minimum gap area -1.0" in text
    missing = InferenceParams(dsm_path=str(tmp_path / "none.tif"))
    assert "is not a file on disk" in missing.problems()[0]


def test_parse_thresholds_and_trained_range() -> None:
    from plugin.dock.params import parse_thresholds, thresholds_outside

    assert parse_thresholds("10, 5;2 5") == (2.0, 5.0, 10.0)
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_thresholds("2,x")
    assert thresholds_outside((2.0, 5.0, 20.0), (2.0, 10.0)) == (20.0,)
    assert thresholds_outside((2.0, 50.0), (0.0, 0.0)) == ()


def test_classic_on_dsm_minus_dtm_within_an_extent(
    require_qgis: None, site: dict[str, Path], tmp_path: Path
) -> None:
    import rasterio

    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    with rasterio.open(site["dsm"]) as dataset:
        left, top = dataset.bounds.left, dataset.bounds.top
    extent = (left + 10.0, top - 42.0, left + 42.0, top - 10.0)  # 32 x 32 cells
    params = InferenceParams(
        dsm_path=str(site["dsm"]), reference_path=str(site["dtm"]), reference_kind="dtm",
        thresholds_m=(5.0,), model=str(tmp_path / "no_model"), extent_mode="polygon",
        extent=extent, min_gap_area_m2=1.0, output_dir=str(tmp_path / "out"),
    )  # fmt: skip
    fractions: list[float] = []

    result = run_detection(params, progress=lambda f, _m: fractions.append(f))

    assert result.method == "classic"
    assert any("DSM - DTM" in note for note in result.notes)
    assert "Processing extent: the polygon layer's extent, clipped to 32 x 32 px" in result.notes[0]
    (item,) = result.thresholds
    with rasterio.open(item.gap_ids_path) as gaps:
        assert gaps.shape == (32, 32)
        assert gaps.bounds.left == pytest.approx(extent[0])
        assert gaps.bounds.top == pytest.approx(extent[3])
        ids = gaps.read(1)
    with rasterio.open(site["chm"]) as dataset:
        chm = dataset.read(1)[10:42, 10:42]
    # Gap cells are CHM <= 5 m (patches below 1 m² would be dropped; 1 cell is 1 m²).
    assert np.array_equal(ids > 0, chm <= 5.0)
    assert fractions and fractions[-1] == pytest.approx(1.0)


def test_failure_with_a_temporary_folder_leaves_nothing(
    require_qgis: None, site: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from forestgaps_engine.errors import ModelError
    from plugin.detection import run_detection
    from plugin.dock.params import InferenceParams

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    params = InferenceParams(dsm_path=str(site["dsm"]), model=str(tmp_path / "no_model"))
    with pytest.raises(ModelError, match="model not found"):
        run_detection(params)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(Exception, match="No threshold"):
        run_detection(replace(params, thresholds_m=()))

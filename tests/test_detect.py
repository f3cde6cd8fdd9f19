"""``detect``: one test per route (model, classic on a CHM, classic on DSM - DTM), the
extent cut, the fallback when no model is usable, and the area bounds every route uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.detection import ExtentOutsideError, detect, write_chm
from forestgaps_engine.errors import ConfigError, ModelError

SMALL_TILES = InferenceConfig(tile_size_px=64, overlap_px=8, min_gap_area_m2=1.0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 64 px synthetic forest at 1 m (EPSG:2154): dsm.tif, dtm.tif, chm.tif."""
    from forestgaps_engine.synth.forest import generate_forest, write_forest

    return write_forest(generate_forest(64, seed=7), tmp_path_factory.mktemp("site"))


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def test_classic_on_a_chm_is_forestgapr_rule(site: dict[str, Path], tmp_path: Path) -> None:
    result = detect(None, [5.0], tmp_path / "out", chm=site["chm"], config=SMALL_TILES)

    assert result.method == "classic" and result.notes == ()
    (item,) = result.thresholds
    assert np.array_equal(read(item.gap_ids_path) > 0, read(site["chm"]) <= 5.0)
    assert item.polygons_path.is_file() and result.summary_path.is_file()
    # Nothing temporary is left beside the outputs.
    assert not [p for p in (tmp_path / "out").iterdir() if "partial" in p.name]


def test_classic_on_dsm_minus_dtm_matches_the_chm(site: dict[str, Path], tmp_path: Path) -> None:
    result = detect(
        site["dsm"], [5.0], tmp_path / "out", dtm=site["dtm"], route="classic", config=SMALL_TILES
    )

    assert result.method == "classic"
    (item,) = result.thresholds
    assert np.array_equal(read(item.gap_ids_path) > 0, read(site["chm"]) <= 5.0)


def test_maximum_area_applies_to_the_classic_route(site: dict[str, Path], tmp_path: Path) -> None:
    unbounded = detect(None, [5.0], tmp_path / "all", chm=site["chm"], config=SMALL_TILES)
    bounded_config = SMALL_TILES.model_copy(update={"max_gap_area_m2": 20.0})
    bounded = detect(None, [5.0], tmp_path / "small", chm=site["chm"], config=bounded_config)

    assert 0 < bounded.thresholds[0].n_gaps < unbounded.thresholds[0].n_gaps
    assert bounded.thresholds[0].total_gap_area_m2 < unbounded.thresholds[0].total_gap_area_m2


def test_model_route_with_a_chm_reports_agreement(site: dict[str, Path], tmp_path: Path) -> None:
    result = detect(site["dsm"], [5.0], tmp_path / "out", chm=site["chm"], config=SMALL_TILES)

    assert result.method == "model"
    (item,) = result.thresholds
    assert item.mask_path is not None and read(item.mask_path).shape == (64, 64)
    assert item.probability_path.is_file() and item.polygons_path.is_file()
    assert len(result.notes) == 1 and "pixel F1" in result.notes[0]


def test_no_usable_model_falls_back_to_classic_only_with_a_reference(
    site: dict[str, Path], tmp_path: Path
) -> None:
    missing = str(tmp_path / "no_model")
    result = detect(
        site["dsm"], [5.0], tmp_path / "out", dtm=site["dtm"], model=missing, config=SMALL_TILES
    )
    assert result.method == "classic"
    assert "No model available" in result.notes[0] and "DSM - DTM" in result.notes[0]
    with pytest.raises(ModelError, match="model not found"):
        detect(site["dsm"], [5.0], tmp_path / "none", model=missing, config=SMALL_TILES)
    with pytest.raises(ModelError):  # "model" asks for the model, no fallback
        detect(
            site["dsm"], [5.0], tmp_path / "forced", chm=site["chm"], model=missing,
            route="model", config=SMALL_TILES,
        )  # fmt: skip


def test_extent_cuts_every_input(site: dict[str, Path], tmp_path: Path) -> None:
    with rasterio.open(site["dsm"]) as dataset:
        left, top = dataset.bounds.left, dataset.bounds.top
    extent = (left + 10.0, top - 42.0, left + 42.0, top - 10.0)  # 32 x 32 cells

    result = detect(
        site["dsm"], [5.0], tmp_path / "out", dtm=site["dtm"], route="classic", extent=extent,
        config=SMALL_TILES,
    )  # fmt: skip

    assert result.clipped_size_px == (32, 32)
    (item,) = result.thresholds
    with rasterio.open(item.gap_ids_path) as gaps:
        assert gaps.shape == (32, 32)
        assert (gaps.bounds.left, gaps.bounds.top) == pytest.approx((extent[0], extent[3]))
        ids = gaps.read(1)
    assert np.array_equal(ids > 0, read(site["chm"])[10:42, 10:42] <= 5.0)
    outside = (left - 500.0, top - 100.0, left - 400.0, top)
    with pytest.raises(ExtentOutsideError, match="does not overlap"):
        detect(site["dsm"], [5.0], tmp_path / "far", extent=outside, config=SMALL_TILES)


def test_inconsistent_inputs_are_refused(site: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a DTM alone"):
        detect(None, [5.0], tmp_path, dtm=site["dtm"])
    with pytest.raises(ConfigError, match="not both"):
        detect(site["dsm"], [5.0], tmp_path, chm=site["chm"], dtm=site["dtm"])
    with pytest.raises(ConfigError, match="classic rule needs a CHM"):
        detect(site["dsm"], [5.0], tmp_path, route="classic")


def test_write_chm_is_dsm_minus_dtm(site: dict[str, Path], tmp_path: Path) -> None:
    written = write_chm(site["dsm"], site["dtm"], tmp_path / "chm.tif")

    assert np.allclose(read(written), read(site["chm"]), atol=1e-4)

"""Real-sample evaluation pairs: CHMs over flat and synthetic ground, clouds rasterized."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from forestgaps_engine.errors import DataError
from forestgaps_engine.evaluation.real_samples import build_real_samples, margins_over_baseline
from forestgaps_engine.experiments.heldout import score_on_sites
from forestgaps_engine.synth.terrain import generate_terrain
from tests.data.rasters import write_raster


def _read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(1, masked=True)


def test_a_chm_becomes_a_dsm_over_flat_and_over_seeded_synthetic_ground(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(3)
    chm = rng.uniform(0.0, 30.0, (64, 80)).astype(np.float32)
    chm[5:9, 10:20] = np.nan
    write_raster(data / "ALS_CHM_TEST.tif", chm, crs=None)

    samples = build_real_samples(data, tmp_path / "work", terrain_seed=41)

    assert [(s.name, s.terrain) for s in samples] == [
        ("ALS_CHM_TEST_flat", "flat"),
        ("ALS_CHM_TEST_terrain", "terrain"),
    ]
    flat, hilly = (_read(s.dsm) for s in samples)
    assert np.array_equal(np.ma.getmaskarray(flat), np.isnan(chm))
    assert np.array_equal(flat.filled(np.nan), chm, equal_nan=True)
    ground = generate_terrain(chm.shape, 1.0, np.random.default_rng(41))
    valid = ~np.isnan(chm)
    np.testing.assert_allclose(hilly.filled(np.nan)[valid], (chm + ground)[valid], rtol=1e-6)
    assert np.ma.getmaskarray(hilly)[~valid].all()
    # The ground really varies: a DSM threshold alone could not find the gaps.
    assert np.ptp(ground) > 5.0
    assert all(s.chm == data / "ALS_CHM_TEST.tif" for s in samples)


def test_a_folder_without_samples_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path)):
        build_real_samples(tmp_path, tmp_path / "work")


def test_margins_are_model_minus_baseline_and_none_where_undefined():
    scores = {
        "model": {"2": {"iou": 0.5}, "5": {"iou": 0.9}, "10": {"iou": None}},
        "dsm_only": {"2": {"iou": 0.25}, "5": {"iou": 0.95}, "10": {"iou": 0.4}},
    }
    assert margins_over_baseline(scores) == {"2": 0.25, "5": pytest.approx(-0.05), "10": None}


def test_real_samples_flat_ground_makes_the_dsm_only_baseline_near_exact(shared_data, tmp_path):
    samples = build_real_samples(shared_data, tmp_path / "work", (1.0, 0.5))
    names = [s.name for s in samples]
    assert names == [
        "Topography",
        "Topography_0.5m",
        "MixedConifer_flat",
        "MixedConifer_terrain",
        "MixedConifer_0.5m_flat",
        "MixedConifer_0.5m_terrain",
        "ALS_CHM_CAU_2012_flat",
        "ALS_CHM_CAU_2012_terrain",
        "ALS_CHM_DUC_flat",
        "ALS_CHM_DUC_terrain",
    ]
    assert samples[0].terrain == "lidar" and samples[0].dsm.name == "dsm.tif"
    for sample, cell_m in zip(samples[:2], (1.0, 0.5), strict=True):
        with rasterio.open(sample.dsm) as dsm, rasterio.open(sample.chm) as chm:
            assert dsm.res == chm.res == (cell_m, cell_m)
    by_name = {s.name: s for s in samples}
    flat = score_on_sites([by_name["MixedConifer_flat"]], None, [5.0], tmp_path / "flat")
    hilly = score_on_sites([by_name["MixedConifer_terrain"]], None, [5.0], tmp_path / "hilly")
    assert flat["dsm_only"]["5"]["iou"] > 0.95
    # Over real-looking relief the same canopy is harder for the baseline.
    assert hilly["dsm_only"]["5"]["iou"] < flat["dsm_only"]["5"]["iou"]
    assert flat["chm_threshold"]["5"]["iou"] == 1.0

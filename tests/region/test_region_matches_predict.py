"""A 4x4-tile region gives the maps and gaps of ``predict`` on the merged mosaic."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict
from forestgaps_engine.region.run import RegionSettings, region

pytest.importorskip("distributed")


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def _gaps(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT gap_id, area_m2, dsm_mean_m, dsm_min_m, dsm_max_m FROM gaps ORDER BY gap_id"
        ).fetchall()


@pytest.mark.parametrize("batch_size", [2, 6])
def test_region_equals_single_raster_predict(tmp_path, region_tiles, tiny_model_dir, batch_size):
    folder, whole = region_tiles
    config = InferenceConfig(
        tile_size_px=64, overlap_px=16, batch_size=batch_size, device="cpu", backend="torch",
        min_gap_area_m2=2.0,
    )  # fmt: skip
    thresholds = [2.0, 5.0]
    # The random model's probabilities lie within 1e-3 of 0.49: a cut-off at their upper
    # quartile gives hundreds of patches, many across block and tile edges.
    first = predict(whole, thresholds, tiny_model_dir, tmp_path / "first", config)
    values = _read(first.thresholds[0].probability_path)
    cutoff = float(np.quantile(values[values >= 0], 0.75))
    config = config.model_copy(update={"probability_cutoff": cutoff})
    expected = predict(whole, thresholds, tiny_model_dir, tmp_path / "predict", config)
    settings = RegionSettings(model=str(tiny_model_dir), config=config, block_size_px=96)
    result = region([folder], thresholds, tmp_path / "region", settings, n_workers=2)
    assert result.summary["n_blocks"] >= 9 and result.summary["n_tiles"] == 16
    for item, entry in zip(expected.thresholds, result.summary["thresholds"], strict=True):
        out = tmp_path / "region"
        mask = _read(out / entry["files"]["mask"])
        assert np.count_nonzero(mask != _read(item.mask_path)) == 0
        probability = _read(out / entry["files"]["probability"])
        reference = _read(item.probability_path)
        if batch_size == len(thresholds):
            # One window per model call, as predict makes it: bitwise the same.
            assert np.array_equal(probability, reference)
        else:
            assert np.abs(probability - reference).max() < 1e-6
        assert entry["n_gaps"] == item.n_gaps > 0
        mine, theirs = _gaps(out / entry["files"]["gaps"]), _gaps(item.gaps_path)
        assert [row[:2] for row in mine] == [row[:2] for row in theirs]
        assert np.allclose([row[2:] for row in mine], [row[2:] for row in theirs], rtol=1e-12)
        assert entry["total_gap_area_m2"] == item.total_gap_area_m2
    assert not (tmp_path / "region" / "region_work").exists()

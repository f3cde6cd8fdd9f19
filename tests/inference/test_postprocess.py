"""Cut, minimum area, clean-up and per-gap DSM statistics on a hand-made raster."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from forestgaps_engine.geo.raster_io import PROBABILITY_PROFILE, grid_of, write_array
from forestgaps_engine.inference.postprocess import label_gap_rasters, write_gap_mask
from tests.inference.helpers import write_dsm


def _mask(tmp_path, gaps, grid) -> np.ndarray:
    write_gap_mask(tmp_path / "mask.tif", gaps, grid)
    with rasterio.open(tmp_path / "mask.tif") as mask:
        return mask.read(1)


def test_labels_and_statistics(tmp_path):
    probability = np.zeros((40, 40), dtype=np.float32)
    probability[2:6, 2:6] = 0.9  # 16 m2 gap
    probability[20:22, 20:22] = 0.7  # 4 m2 gap
    probability[30, 30] = 0.95  # 1 m2: below min area
    probability[10:12, 30:32] = 0.4  # below the cut-off
    probability[39, :] = np.nan
    dsm_values = np.full((40, 40), 220.0, dtype=np.float32)
    dsm_values[2:6, 2:6] = np.arange(16, dtype=np.float32).reshape(4, 4) + 200
    dsm_path = write_dsm(tmp_path / "dsm.tif", dsm_values)
    with rasterio.open(dsm_path) as dsm:
        grid = grid_of(dsm)
    write_array(tmp_path / "p.tif", probability, grid, PROBABILITY_PROFILE)
    for folder in ("plain", "cleaned"):
        (tmp_path / folder).mkdir()
    with rasterio.open(tmp_path / "p.tif") as source, rasterio.open(dsm_path) as dsm:
        gaps = label_gap_rasters(source, grid, 0.5, 4.0, tmp_path / "plain", dsm=dsm)
    mask = _mask(tmp_path, gaps, grid)
    assert gaps.n_gaps == 2
    assert mask[39].tolist() == [255] * 40
    assert mask[30, 30] == 0 and mask[3, 3] == 1
    stats = gaps.statistics
    assert stats.area_m2.tolist() == [16.0, 4.0]
    assert stats.dsm_min_m[0] == 200 and stats.dsm_max_m[0] == 215
    assert stats.dsm_mean_m[0] == np.mean(np.arange(16) + 200)
    assert stats.dsm_mean_m[1] == 220
    with rasterio.open(tmp_path / "p.tif") as source:
        cleaned = label_gap_rasters(source, grid, 0.5, 0.0, tmp_path / "cleaned", 1)
    assert _mask(tmp_path, cleaned, grid)[30, 30] == 0  # opening removes the lone cell
    assert cleaned.n_gaps == 1  # the 2 x 2 gap cannot hold the radius-1 disk either


def test_gaps_spanning_many_strips_are_whole_polygons_of_the_mask(tmp_path, monkeypatch):
    # Strips of 6 rows: gaps are labelled across many strips; GDAL polygonizes the ids
    # raster those strips wrote, and every gap is one feature drawing its mask cells.
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.inference import postprocess, predict
    from tests.inference.helpers import forest, pointwise_model

    ogr = pytest.importorskip("osgeo.ogr")
    monkeypatch.setattr(postprocess, "STRIP_ROWS", 6)
    config = InferenceConfig(
        tile_size_px=64, overlap_px=16, batch_size=4, device="cpu", backend="torch"
    )
    dsm = write_dsm(tmp_path / "dsm.tif", forest(120, seed=4))
    result = predict(dsm, [5, 10, 25], pointwise_model(tmp_path), tmp_path / "out", config)
    tallest = 0
    for item in result.thresholds:
        tallest = max(tallest, _check_polygons_against_mask(item, ogr))
    assert tallest > 3 * 6  # a gap spans many strips (at 25 m, one spans the raster)


def _check_polygons_against_mask(item, ogr) -> int:
    """Every gap cell of the mask is inside exactly one valid polygon whose area is its
    ``area_m2``, and no other cell is; returns the tallest gap's height in rows."""
    from rasterio import features
    from scipy import ndimage

    with rasterio.open(item.mask_path) as dataset:
        is_gap = dataset.read(1) == 1
        transform = dataset.transform
    ids, n_gaps = ndimage.label(is_gap, structure=np.ones((3, 3), bool))
    assert n_gaps == item.n_gaps
    source = ogr.Open(str(item.gaps_path))
    layer = source.GetLayer(0)
    assert layer.GetFeatureCount() == n_gaps
    drawn = np.zeros(is_gap.shape, dtype=np.int32)
    for feature in layer:
        geometry = feature.GetGeometryRef().Clone()  # owned: it outlives the feature
        assert geometry.IsValid()
        assert geometry.GetArea() == pytest.approx(feature.GetField("area_m2"))
        shape = json.loads(geometry.ExportToJson())
        drawn += features.rasterize(
            [(shape, 1)], out_shape=is_gap.shape, transform=transform, dtype="uint8"
        )
    np.testing.assert_array_equal(drawn, is_gap)  # each gap cell once, nothing else
    return max((rows.stop - rows.start for rows, _ in ndimage.find_objects(ids)), default=0)

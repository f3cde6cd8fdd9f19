"""The main job on real data: a lidar cloud rasterized, then gaps predicted from its DSM,
and the outputs opened in QGIS on the DSM's place."""

from __future__ import annotations

import json

import pytest
import rasterio

from forestgaps_engine.cli.main import main
from forestgaps_engine.models.card import CARD_FILE, DEFAULT_MODEL_DIR


@pytest.mark.slow
def test_predict_on_rasterized_real_cloud_opens_in_qgis(shared_data, require_qgis, tmp_path):
    if not (DEFAULT_MODEL_DIR / CARD_FILE).is_file():
        pytest.skip("no bundled default model in resources/models/default")
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    lidar = tmp_path / "lidar"
    assert main(["rasterize", str(shared_data / "Topography.laz"), "--resolution", "1",
                 "--out", str(lidar)]) == 0
    out = tmp_path / "predicted"
    assert main(["predict", str(lidar / "dsm.tif"), "--threshold", "5", "--threshold", "10",
                 "--model", "default", "--out", str(out)]) == 0

    with rasterio.open(lidar / "dsm.tif") as dsm:
        dsm_crs, dsm_bounds, dsm_shape = dsm.crs, dsm.bounds, dsm.shape
    assert dsm_crs.to_epsg() == 2949
    for name in ("gap_probability_t5.tif", "gap_mask_t10.tif"):
        with rasterio.open(out / name) as raster:
            assert raster.crs == dsm_crs
            assert raster.shape == dsm_shape
            assert raster.bounds == pytest.approx(dsm_bounds)
        layer = QgsRasterLayer(str(out / name), name)
        assert layer.isValid()
        assert layer.crs().authid() == "EPSG:2949"
        extent = layer.extent()
        assert (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()) == (
            pytest.approx(tuple(dsm_bounds))
        )
    polygons = QgsVectorLayer(str(out / "gaps_t10.gpkg"), "gaps", "ogr")
    assert polygons.isValid()
    assert polygons.crs().authid() == "EPSG:2949"
    if polygons.featureCount():
        assert polygons.extent().intersects(layer.extent())
    summary = json.loads((out / "summary.json").read_text())
    assert {t["threshold_m"] for t in summary["thresholds"]} == {5.0, 10.0}

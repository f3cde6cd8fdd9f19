"""Classic detector in region mode = gaps-from-chm on the mosaic; tiles in two CRSs mosaic."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import rasterio
from osgeo import ogr

from forestgaps_engine.gaps.pipeline import gaps_from_chm
from forestgaps_engine.region.mosaic import build_mosaic, describe_tiles, target_crs
from forestgaps_engine.region.run import RegionSettings, region
from tests.inference.helpers import ORIGIN, write_dsm

pytest.importorskip("distributed")
pq = pytest.importorskip("pyarrow.parquet")


def test_classic_region_gives_the_gap_ids_of_gaps_from_chm(tmp_path, region_chm_tiles):
    folder, whole = region_chm_tiles
    expected = gaps_from_chm(whole, [5.0, 10.0], tmp_path / "single", min_area_m2=2.0)
    settings = RegionSettings(method="classic", block_size_px=80, min_area_m2=2.0)
    result = region([folder], [5.0, 10.0], tmp_path / "region", settings, n_workers=1)
    for item, entry in zip(expected.thresholds, result.summary["thresholds"], strict=True):
        with rasterio.open(tmp_path / "region" / entry["files"]["gap_ids"]) as mine:
            ids = mine.read(1)
        with rasterio.open(item.raster_path) as theirs:
            assert np.array_equal(ids, theirs.read(1))
        assert entry["n_gaps"] == item.n_gaps > 3
        with sqlite3.connect(tmp_path / "region" / entry["files"]["gaps"]) as db:
            areas = db.execute("SELECT gap_id, area_m2 FROM gaps ORDER BY gap_id").fetchall()
        assert [area for _id, area in areas] == list(np.bincount(ids.ravel())[1:].astype(float))
        parquet = pq.read_table(tmp_path / "region" / entry["files"]["gaps_parquet"])
        geo = json.loads(parquet.schema.metadata[b"geo"])
        assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["crs"]
        assert parquet.column("gap_id").to_pylist() == [gap_id for gap_id, _area in areas]
        first = ogr.CreateGeometryFromWkb(parquet.column("geometry")[0].as_py())
        assert first.GetGeometryName() == "MULTIPOLYGON" and first.GetArea() == areas[0][1]


def test_tiles_in_two_crs_mosaic_onto_one_grid(tmp_path):
    rows, cols = np.mgrid[0:64, 0:128]
    plane = (200.0 + 0.05 * cols + 0.02 * rows).astype(np.float32)
    left = write_dsm(tmp_path / "left.tif", plane[:, :64])
    right = tmp_path / "right_2154.tif"
    write_dsm(right, plane[:, 64:], origin=(ORIGIN[0] + 64, ORIGIN[1]))
    # The right tile delivered in UTM 31N, as a neighbouring survey would give it.
    from osgeo import gdal

    utm = tmp_path / "right_utm.tif"
    gdal.Warp(str(utm), str(right), dstSRS="EPSG:32631", xRes=1.0, yRes=1.0,
              resampleAlg="bilinear", dstNodata=-9999)  # fmt: skip
    infos = describe_tiles([left, utm])
    crs = target_crs(infos, "EPSG:2154")
    mosaic = build_mosaic(infos, crs, 1.0, tmp_path)
    assert mosaic.n_warped == 1 and mosaic.grid.crs.endswith("2154")
    with rasterio.open(mosaic.path) as dataset:
        values = dataset.read(1, masked=True)
        left_col = round((ORIGIN[0] - dataset.transform.c) / 1.0)
        top_row = round((dataset.transform.f - ORIGIN[1]) / 1.0)
    inner = values[top_row + 3 : top_row + 60, left_col + 3 : left_col + 124]
    truth = plane[3:60, 3:124]
    # Twice warped (to UTM and back) bilinear on a plane: within a centimetre.
    assert inner.count() == inner.size
    assert np.abs(inner.filled(np.nan) - truth).max() < 0.01

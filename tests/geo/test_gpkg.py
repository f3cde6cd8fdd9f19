"""The gap GeoPackage written by GDAL: R-tree spatial index, CRS, attributes, atomicity,
read back by GDAL/OGR and by QGIS."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.geo import vectorize
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import LabelLayerWriter, write_label_polygons

ogr = pytest.importorskip("osgeo.ogr")

GRID = Grid("EPSG:2154", Affine(1.0, 0.0, 700000.0, 0.0, -1.0, 6600000.0), 4, 5)
FIELDS = [
    ("gap_id", "INTEGER"),
    ("area_m2", "REAL"),
    ("perimeter_m", "REAL"),
    ("chm_sd", "REAL"),
    ("note", "TEXT"),
]
COLUMNS = {
    "gap_id": np.array([1, 2]),
    "area_m2": np.array([2.0, 6.0]),
    "chm_sd": np.array([np.nan, 0.25]),
    "note": np.array(["corner", "block"]),
}
LOCAL_WKT = (
    'LOCAL_CS["plot 7 local grid",LOCAL_DATUM["plot",32767],UNIT["metre",1],'
    'AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
)


@pytest.fixture(params=[True, False], ids=["spatialite", "python"])
def grouping(request, monkeypatch) -> bool:
    monkeypatch.setattr(vectorize, "USE_SPATIALITE", request.param)
    return request.param


def _labels() -> np.ndarray:
    labels = np.zeros(GRID.shape, dtype=np.int32)
    labels[0, 0] = labels[1, 1] = 1
    labels[2:4, 2:5] = 2
    return labels


def _write(path: Path, crs: str | None = "EPSG:2154", layer: str = "gaps_t10") -> Path:
    return write_label_polygons(path, layer, _labels(), FIELDS, COLUMNS, crs, GRID)


def _open_layer(path: Path, name: str = "gaps_t10") -> tuple:
    dataset = ogr.Open(str(path))
    assert dataset is not None, f"GDAL cannot open {path}"
    assert dataset.GetDriver().GetName() == "GPKG"
    return dataset, dataset.GetLayerByName(name)


def test_the_layer_has_an_rtree_spatial_index(tmp_path: Path, grouping) -> None:
    target = _write(tmp_path / "gaps.gpkg")
    with sqlite3.connect(target) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert "rtree_gaps_t10_geom" in tables
        (n_entries,) = connection.execute("SELECT COUNT(*) FROM rtree_gaps_t10_geom").fetchone()
        assert n_entries == 2
        (extension,) = connection.execute(
            "SELECT extension_name FROM gpkg_extensions WHERE table_name = 'gaps_t10'"
        ).fetchone()
        assert extension == "gpkg_rtree_index"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    dataset, layer = _open_layer(target)
    result = dataset.ExecuteSQL("SELECT HasSpatialIndex('gaps_t10', 'geom')")
    assert result.GetNextFeature().GetField(0) == 1
    dataset.ReleaseResultSet(result)
    assert layer.TestCapability(ogr.OLCFastSpatialFilter)
    layer.SetSpatialFilterRect(700002.5, 6599996.5, 700003.5, 6599997.5)
    assert [feature.GetFID() for feature in layer] == [2]
    del dataset


def test_gdal_reads_features_geometry_attributes_and_epsg(tmp_path: Path, grouping) -> None:
    dataset, layer = _open_layer(_write(tmp_path / "gaps.gpkg"))
    assert layer.GetGeomType() == ogr.wkbMultiPolygon
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    definition = layer.GetLayerDefn()
    types = {definition.GetFieldDefn(i).GetName(): definition.GetFieldDefn(i).GetType()
             for i in range(definition.GetFieldCount())}  # fmt: skip
    assert types == {"gap_id": ogr.OFTInteger64, "area_m2": ogr.OFTReal,
                     "perimeter_m": ogr.OFTReal, "chm_sd": ogr.OFTReal, "note": ogr.OFTString}  # fmt: skip
    assert layer.GetFIDColumn() == "fid" and layer.GetGeometryColumn() == "geom"
    first, second = list(layer)
    assert first.GetField("gap_id") == 1 and first.IsFieldNull("chm_sd")
    assert first.GetGeometryRef().GetGeometryCount() == 2  # corner contact: two parts
    assert first.GetGeometryRef().GetArea() == pytest.approx(2.0)
    assert first.GetField("perimeter_m") == pytest.approx(8.0)
    assert second.GetField("chm_sd") == 0.25 and second.GetField("note") == "block"
    assert second.GetField("perimeter_m") == pytest.approx(10.0)
    assert second.GetGeometryRef().GetArea() == pytest.approx(6.0)
    assert second.GetGeometryRef().IsValid()
    assert layer.GetExtent() == (700000.0, 700005.0, 6599996.0, 6600000.0)
    del dataset
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaps.gpkg"]


def test_wkt_crs_without_epsg_and_no_crs(tmp_path: Path, grouping) -> None:
    dataset, layer = _open_layer(_write(tmp_path / "c.gpkg", LOCAL_WKT))
    assert "plot 7 local grid" in layer.GetSpatialRef().ExportToWkt()
    assert layer.GetFeatureCount() == 2
    del dataset
    undefined = _write(tmp_path / "u.gpkg", None)
    with sqlite3.connect(undefined) as connection:
        srs_ids = connection.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchall()
    assert srs_ids == [(-1,)]  # undefined Cartesian, not GDAL's geographic 0
    dataset, layer = _open_layer(undefined)
    spatial_ref = layer.GetSpatialRef()
    assert spatial_ref is None or "Undefined Cartesian" in spatial_ref.ExportToWkt()
    assert layer.GetFeatureCount() == 2
    del dataset


def test_empty_layer_is_valid(tmp_path: Path, grouping) -> None:
    empty = np.zeros(GRID.shape, dtype=np.int32)
    columns = {name: [] for name, _ in FIELDS}
    target = write_label_polygons(tmp_path / "e.gpkg", "gaps", empty, FIELDS, columns,
                                  "EPSG:2154", GRID)  # fmt: skip
    dataset, layer = _open_layer(target, "gaps")
    assert layer.GetFeatureCount() == 0
    assert layer.GetLayerDefn().GetFieldCount() == len(FIELDS)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    del dataset


def test_bad_names_and_a_failure_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layer name"):
        _write(tmp_path / "x.gpkg", layer='gaps"; DROP')
    with pytest.raises(ValueError, match="type"):
        LabelLayerWriter(tmp_path / "x.gpkg", "gaps", [("gap_id", "BLOB")], None)
    with pytest.raises(RuntimeError, match="stop"):
        with LabelLayerWriter(tmp_path / "x.gpkg", "gaps", FIELDS, "EPSG:2154") as writer:
            writer.add(_labels(), np.array([1, 2]), COLUMNS, GRID)
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_a_geometry_too_big_for_sqlite_is_a_user_error() -> None:
    from forestgaps_engine.errors import DataError

    error = vectorize.too_big_error(
        RuntimeError("sqlite3_step() failed: string or blob too big"), Path("out/gaps_t5.gpkg")
    )
    assert isinstance(error, DataError) and "gaps_t5.gpkg" in error.message
    assert "--max-area" in error.hint
    assert vectorize.too_big_error(RuntimeError("disk I/O error"), Path("x.gpkg")) is None


def test_qgis_loads_the_layer_and_its_spatial_index(tmp_path: Path, require_qgis: None) -> None:
    from qgis.core import QgsFeatureSource, QgsVectorLayer, QgsWkbTypes

    target = _write(tmp_path / "q.gpkg", layer="gaps_t5")
    layer = QgsVectorLayer(f"{target}|layername=gaps_t5", "gaps", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 2
    assert layer.crs().authid() == "EPSG:2154"
    assert QgsWkbTypes.flatType(layer.wkbType()) == QgsWkbTypes.MultiPolygon
    assert [f.name() for f in layer.fields()] == ["fid"] + [name for name, _ in FIELDS]
    assert layer.hasSpatialIndex() == QgsFeatureSource.SpatialIndexPresent
    areas = sorted(feature.geometry().area() for feature in layer.getFeatures())
    assert areas == pytest.approx([2.0, 6.0])


def test_the_processs_gdal_exception_setting_is_left_as_it_was(tmp_path: Path) -> None:
    # QGIS and other plugins check return codes: the writer's exceptions stay inside it.
    from osgeo import gdal, osr

    modules = (gdal, ogr, osr)
    before = [module.GetUseExceptions() for module in modules]
    try:
        for module in reversed(modules):  # handlers come off in reverse order
            module.DontUseExceptions()
        _write(tmp_path / "gaps.gpkg")
        vectorize.label_polygons(_labels(), GRID)
        assert [module.GetUseExceptions() for module in modules] == [0, 0, 0]
        assert ogr.Open(str(tmp_path / "missing.gpkg")) is None  # a code, not an exception
    finally:
        for module, was_on in zip(modules, before, strict=True):
            if was_on:
                module.UseExceptions()

"""GeoPackage and GeoJSON writers, read back by GDAL/OGR and by QGIS."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.geo.gpkg import (
    GPKG_APPLICATION_ID,
    FieldSpec,
    write_geojson,
    write_gpkg,
)
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import gap_features

ogr = pytest.importorskip("osgeo.ogr")
osr = pytest.importorskip("osgeo.osr")

GRID = Grid("EPSG:2154", Affine(1.0, 0.0, 700000.0, 0.0, -1.0, 6600000.0), 4, 5)
FIELDS = [
    FieldSpec("gap_id", "INTEGER"),
    FieldSpec("area_m2", "REAL"),
    FieldSpec("perimeter_m", "REAL"),
    FieldSpec("chm_sd", "REAL"),
    FieldSpec("note", "TEXT"),
]
LOCAL_WKT = (
    'LOCAL_CS["plot 7 local grid",LOCAL_DATUM["plot",32767],UNIT["metre",1],'
    'AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
)


def _features(grid: Grid = GRID) -> list:
    labels = np.zeros(grid.shape, dtype=np.int32)
    labels[0, 0] = labels[1, 1] = 1
    labels[2:4, 2:5] = 2
    columns = {"chm_sd": np.array([np.nan, 0.25]), "note": np.array(["corner", "block"])}
    return gap_features(labels, grid, columns)


def _open_layer(path: Path) -> tuple:
    dataset = ogr.Open(str(path))
    assert dataset is not None, f"GDAL cannot open {path}"
    assert dataset.GetDriver().GetName() == "GPKG"
    return dataset, dataset.GetLayer(0)


def test_gdal_reads_features_geometry_attributes_and_epsg(tmp_path: Path) -> None:
    target = write_gpkg(tmp_path / "gaps.gpkg", "gaps_t10", _features(), FIELDS, "EPSG:2154")
    dataset, layer = _open_layer(target)
    assert layer.GetName() == "gaps_t10"
    assert layer.GetGeomType() == ogr.wkbMultiPolygon
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    definition = layer.GetLayerDefn()
    types = {definition.GetFieldDefn(i).GetName(): definition.GetFieldDefn(i).GetType()
             for i in range(definition.GetFieldCount())}  # fmt: skip
    assert types == {"gap_id": ogr.OFTInteger64, "area_m2": ogr.OFTReal,
                     "perimeter_m": ogr.OFTReal, "chm_sd": ogr.OFTReal, "note": ogr.OFTString}  # fmt: skip
    assert layer.GetFeatureCount() == 2
    first, second = list(layer)
    assert first.GetField("gap_id") == 1 and first.IsFieldNull("chm_sd")
    assert first.GetGeometryRef().GetGeometryCount() == 2
    assert first.GetGeometryRef().GetArea() == pytest.approx(2.0)
    assert first.GetField("perimeter_m") == pytest.approx(8.0)
    assert second.GetField("chm_sd") == 0.25 and second.GetField("note") == "block"
    assert second.GetGeometryRef().GetArea() == pytest.approx(6.0)
    assert second.GetGeometryRef().IsValid()
    assert layer.GetExtent() == (700000.0, 700005.0, 6599996.0, 6600000.0)
    del dataset


def test_file_is_a_geopackage_13(tmp_path: Path) -> None:
    target = write_gpkg(tmp_path / "g.gpkg", "gaps", _features(), FIELDS, "EPSG:2154")
    with sqlite3.connect(target) as connection:
        assert connection.execute("PRAGMA application_id").fetchone()[0] == GPKG_APPLICATION_ID
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 10300
        srs_ids = {row[0] for row in connection.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")}
        assert srs_ids == {4326, -1, 0, 2154}
        blob = connection.execute("SELECT geom FROM gaps").fetchone()[0]
        assert blob[:2] == b"GP" and blob[2] == 0
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert not list(tmp_path.glob(".*partial*"))


def test_wkt_crs_without_epsg_and_no_crs(tmp_path: Path) -> None:
    custom = write_gpkg(tmp_path / "c.gpkg", "gaps", _features(), FIELDS, LOCAL_WKT)
    dataset, layer = _open_layer(custom)
    assert "plot 7 local grid" in layer.GetSpatialRef().ExportToWkt()
    del dataset
    undefined = write_gpkg(tmp_path / "u.gpkg", "gaps", _features(), FIELDS, None)
    dataset, layer = _open_layer(undefined)
    # srs_id -1: GDAL reports the spec's "Undefined Cartesian SRS", with no authority.
    spatial_ref = layer.GetSpatialRef()
    assert spatial_ref is None or "Undefined Cartesian" in spatial_ref.ExportToWkt()
    assert spatial_ref is None or spatial_ref.GetAuthorityCode(None) is None
    assert layer.GetFeatureCount() == 2
    del dataset


def test_empty_layer_is_valid(tmp_path: Path) -> None:
    target = write_gpkg(tmp_path / "e.gpkg", "gaps", [], FIELDS, "EPSG:2154")
    dataset, layer = _open_layer(target)
    assert layer.GetFeatureCount() == 0
    assert layer.GetLayerDefn().GetFieldCount() == len(FIELDS)
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    del dataset


def test_bad_names_are_rejected_and_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layer name"):
        write_gpkg(tmp_path / "x.gpkg", 'gaps"; DROP', _features(), FIELDS, None)
    with pytest.raises(ValueError, match="type"):
        FieldSpec("gap_id", "BLOB")
    assert list(tmp_path.iterdir()) == []


def test_geojson_in_layer_crs_and_in_wgs84(tmp_path: Path) -> None:
    target = write_geojson(tmp_path / "g.geojson", _features(), FIELDS, "EPSG:2154")
    payload = json.loads(target.read_text())
    assert payload["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::2154"
    assert payload["features"][0]["properties"]["chm_sd"] is None
    dataset = ogr.Open(str(target))
    layer = dataset.GetLayer(0)
    assert layer.GetFeatureCount() == 2
    assert layer.GetSpatialRef().GetAuthorityCode(None) == "2154"
    assert layer.GetFeature(1).GetGeometryRef().GetArea() == pytest.approx(2.0)
    del dataset
    wgs84 = write_geojson(tmp_path / "w.geojson", _features(), FIELDS, "EPSG:2154", True)
    lon, lat = json.loads(wgs84.read_text())["features"][1]["geometry"]["coordinates"][0][0][0]
    assert 2.0 < lon < 4.0 and 46.0 < lat < 47.5  # Lambert-93 false origin area, France
    with pytest.raises(ValueError, match="no CRS"):
        write_geojson(tmp_path / "n.geojson", _features(), FIELDS, None, True)


def test_qgis_loads_the_layer(tmp_path: Path, require_qgis: None) -> None:
    from qgis.core import QgsVectorLayer, QgsWkbTypes

    target = write_gpkg(tmp_path / "q.gpkg", "gaps_t5", _features(), FIELDS, "EPSG:2154")
    layer = QgsVectorLayer(f"{target}|layername=gaps_t5", "gaps", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 2
    assert layer.crs().authid() == "EPSG:2154"
    assert QgsWkbTypes.flatType(layer.wkbType()) == QgsWkbTypes.MultiPolygon
    assert [f.name() for f in layer.fields()] == ["fid"] + [f.name for f in FIELDS]
    areas = sorted(feature.geometry().area() for feature in layer.getFeatures())
    assert areas == pytest.approx([2.0, 6.0])


def test_sql_columns_convert_in_bulk_like_value_by_value() -> None:
    from forestgaps_engine.geo.gpkg import _sql_column, _sql_value

    columns = [
        (np.array([1.5, np.nan, np.inf, -2.0], dtype=np.float32), "REAL"),
        (np.array([1.5, np.nan, 3.0]), "REAL"),
        (np.array([3, 4, 5], dtype=np.int32), "REAL"),
        (np.array([7, 8], dtype=np.uint16), "INTEGER"),
        (np.array([2**63, 5], dtype=np.uint64), "INTEGER"),
        (np.array([7.9, np.nan]), "INTEGER"),
        (np.array(["a", "b"]), "TEXT"),
    ]
    for values, sql_type in columns:
        got = _sql_column(values, sql_type)
        want = [_sql_value(value, sql_type) for value in values.tolist()]
        assert got == want and [type(v) for v in got] == [type(v) for v in want], values


def _spanning_gap() -> tuple[np.ndarray, Grid]:
    """One gap with holes and two parts, on a 30 x 40 grid."""
    ids = np.zeros((30, 40), dtype=np.int32)
    ids[2:28, 3:37] = 1
    ids[5:9, 6:10] = 0  # holes
    ids[12, 20] = ids[20:22, 25:30] = 0
    ids[28, 37] = 1  # a second part, touching the first at a corner
    grid = Grid("EPSG:2154", Affine(0.5, 0.0, 700000.0, 0.0, -0.5, 6600000.0), 30, 40)
    return ids, grid


def test_a_gap_with_many_vertices_is_streamed_into_its_row_with_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forestgaps_engine.geo import gpkg
    from forestgaps_engine.geo.trace import trace_labels

    ids, grid = _spanning_gap()
    traced = trace_labels(ids).transformed(grid.transform)
    fields = [FieldSpec("gap_id", "INTEGER"), FieldSpec("perimeter_m", "REAL")]
    columns = {"gap_id": np.array([1]), "perimeter_m": traced.perimeters()}
    expected = gpkg.geopackage_geometries(traced, 2154)[0]
    monkeypatch.setattr(gpkg, "STREAMED_GEOMETRY_VERTICES", 10)
    with gpkg.TracedLayerWriter(tmp_path / "gaps.gpkg", "gaps", fields, "EPSG:2154") as writer:
        writer.add(traced, columns)
    with sqlite3.connect(tmp_path / "gaps.gpkg") as connection:
        [(blob, gap_id)] = connection.execute("SELECT geom, gap_id FROM gaps").fetchall()
    assert bytes(blob) == expected and gap_id == 1
    # GDAL reads it: two parts, five holes, the area of the cells.
    source = ogr.Open(str(tmp_path / "gaps.gpkg"))
    feature = source.GetLayer(0).GetNextFeature()  # held: the geometry is its own
    geometry = feature.GetGeometryRef()
    assert geometry.GetGeometryCount() == 2 and geometry.IsValid()
    assert geometry.GetArea() == pytest.approx(np.count_nonzero(ids) * 0.25)


def test_a_geometry_over_sqlites_largest_value_is_refused_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forestgaps_engine.errors import InferenceError
    from forestgaps_engine.geo import gpkg
    from forestgaps_engine.geo.trace import trace_labels

    ids, grid = _spanning_gap()
    traced = trace_labels(ids).transformed(grid.transform)
    monkeypatch.setattr(gpkg, "STREAMED_GEOMETRY_VERTICES", 10)
    target = tmp_path / "gaps.gpkg"
    with pytest.raises(InferenceError, match="gap 1 has .* polygon vertices") as caught:
        with gpkg.TracedLayerWriter(target, "gaps", [], "EPSG:2154") as writer:
            assert writer._connection is not None
            writer._connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 200)
            writer.add(traced, {})
    assert "--max-area" in caught.value.hint
    assert list(tmp_path.iterdir()) == []

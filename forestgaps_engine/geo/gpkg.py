"""Vector outputs without extra dependencies: an OGC GeoPackage 1.3 writer (sqlite3) and GeoJSON.

The GeoPackage holds one feature layer of MultiPolygons: the three required SRS rows
(4326, -1 undefined Cartesian, 0 undefined geographic) plus the layer's own (-1 when there
is no CRS), the ``gpkg_contents`` and ``gpkg_geometry_columns`` entries, and geometries
stored as GeoPackageBinary (``GP`` header, SRS id, XY envelope, little-endian WKB). No R-tree index
(optional in the spec; QGIS and GDAL read the layer without it).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forestgaps_engine.files import atomic_path
from forestgaps_engine.geo.trace import TracedRings
from forestgaps_engine.geo.vectorize import VectorFeature

GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
GPKG_USER_VERSION = 10300  # 1.3.0
FIELD_TYPES = ("INTEGER", "REAL", "TEXT")
CUSTOM_SRS_ID = 100000  # CRS with no EPSG code; ids below are EPSG's range
# No CRS: the spec's -1 "undefined Cartesian" (gap coordinates are planar metres). GDAL
# 3.6 and QGIS 3.22 read it as a custom "Undefined Cartesian SRS" without authority code;
# 0 (what GDAL itself writes) reads back as an undefined *geographic* CRS, which is wrong.
UNDEFINED_SRS_ID = -1
WKB_POLYGON = 3
WKB_MULTIPOLYGON = 6
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldSpec:
    """One attribute column: a name (letters, digits, underscore) and INTEGER, REAL or TEXT."""

    name: str
    sql_type: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"field name {self.name!r} must be letters, digits and _")
        if self.sql_type not in FIELD_TYPES:
            raise ValueError(f"field {self.name!r}: type {self.sql_type!r} not in {FIELD_TYPES}")


@dataclass(frozen=True)
class SrsRecord:
    """A ``gpkg_spatial_ref_sys`` row."""

    srs_id: int
    srs_name: str
    organization: str
    organization_coordsys_id: int
    definition: str


def srs_record(crs: str | None) -> SrsRecord:
    """The SRS row for ``crs`` ("EPSG:n", WKT or PROJ text; None = undefined Cartesian, -1)."""
    if crs is None:
        return SrsRecord(UNDEFINED_SRS_ID, "Undefined cartesian SRS", "NONE", -1, "undefined")
    from rasterio.crs import CRS

    parsed = CRS.from_user_input(crs)
    epsg = parsed.to_epsg()
    wkt = parsed.to_wkt()
    match = re.match(r'^[A-Z_]+\["([^"]*)"', wkt)  # the CRS name opens the WKT
    name = match.group(1) if match else (f"EPSG:{epsg}" if epsg else "custom CRS")
    if epsg is not None:
        return SrsRecord(int(epsg), name, "EPSG", int(epsg), wkt)
    return SrsRecord(CUSTOM_SRS_ID, name, "NONE", CUSTOM_SRS_ID, wkt)


def geopackage_geometries(traced: TracedRings, srs_id: int) -> list[bytes]:
    """GeoPackageBinary of every label of ``traced``, one MultiPolygon each: magic, version
    0, flags (XY envelope, little endian), SRS id, then ISO little-endian WKB.

    The bytes of all geometries are laid out in one buffer with array operations: the
    headers (GeoPackage header and envelope, MultiPolygon, Polygon and ring counts) go to
    computed offsets, and every other byte is a coordinate, in ring order.
    """
    if traced.labels.size == 0:
        return []
    ring_bytes, part_bytes, label_bytes = _byte_sizes(traced)
    headers, parts = _headers(traced, srs_id)
    label_start = np.r_[0, np.cumsum(label_bytes)]
    part_start = _starts_within(part_bytes, traced.label_offsets) + np.repeat(
        label_start[:-1] + _LABEL_HEADER.itemsize, np.diff(traced.label_offsets)
    )
    ring_start = _starts_within(ring_bytes, traced.part_offsets) + np.repeat(
        part_start + _PART_HEADER.itemsize, np.diff(traced.part_offsets)
    )
    buffer = np.zeros(int(label_start[-1]), dtype=np.uint8)
    is_header = np.zeros(buffer.size, dtype=bool)
    _put(buffer, is_header, label_start[:-1], headers)
    _put(buffer, is_header, part_start, parts)
    _put(buffer, is_header, ring_start, np.diff(traced.ring_offsets).astype(_RING_HEADER))
    buffer[~is_header] = np.ascontiguousarray(traced.xy, dtype="<f8").view(np.uint8).ravel()
    data = buffer.tobytes()
    starts, stops = label_start[:-1].tolist(), label_start[1:].tolist()
    return [data[start:stop] for start, stop in zip(starts, stops, strict=True)]


_LABEL_HEADER = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
     ("envelope", "<f8", (4,)), ("byte_order", "u1"), ("kind", "<u4"), ("count", "<u4")]
)  # fmt: skip
_PART_HEADER = np.dtype([("byte_order", "u1"), ("kind", "<u4"), ("count", "<u4")])
_RING_HEADER = np.dtype("<u4")  # the ring's point count
_POINT_BYTES = 16  # x, y little-endian float64
_FLAGS = (1 << 1) | 1  # envelope indicator 1 = [minx, maxx, miny, maxy]; little endian


def _byte_sizes(traced: TracedRings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bytes of every ring (count and points), part and label (whole geometry)."""
    ring_bytes = _RING_HEADER.itemsize + _POINT_BYTES * np.diff(traced.ring_offsets)
    part_bytes = _PART_HEADER.itemsize + np.add.reduceat(ring_bytes, traced.part_offsets[:-1])
    label_bytes = _LABEL_HEADER.itemsize + np.add.reduceat(part_bytes, traced.label_offsets[:-1])
    return ring_bytes, part_bytes, label_bytes


def _headers(traced: TracedRings, srs_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The GeoPackage and MultiPolygon header of every label, the Polygon header of every
    part, as packed little-endian records."""
    headers = np.zeros(traced.labels.size, dtype=_LABEL_HEADER)
    headers["magic"], headers["version"], headers["flags"] = b"GP", 0, _FLAGS
    headers["srs_id"], headers["envelope"] = srs_id, traced.bounds()[:, [0, 2, 1, 3]]
    headers["byte_order"], headers["kind"] = 1, WKB_MULTIPOLYGON
    headers["count"] = np.diff(traced.label_offsets)
    parts = np.zeros(traced.part_offsets.size - 1, dtype=_PART_HEADER)
    parts["byte_order"], parts["kind"], parts["count"] = (
        1,
        WKB_POLYGON,
        np.diff(traced.part_offsets),
    )
    return headers, parts


def _starts_within(sizes: np.ndarray, group_offsets: np.ndarray) -> np.ndarray:
    """Byte offset of each item from the start of its group (items grouped by offsets)."""
    ends = np.cumsum(sizes)
    group_start = np.repeat(np.r_[0, ends][group_offsets[:-1]], np.diff(group_offsets))
    return ends - sizes - group_start


def _put(
    buffer: np.ndarray, is_header: np.ndarray, starts: np.ndarray, records: np.ndarray
) -> None:
    """Write packed ``records`` (one per start) at byte offsets ``starts``."""
    size = records.dtype.itemsize
    positions = (starts[:, None] + np.arange(size)).ravel()
    buffer[positions] = np.ascontiguousarray(records).view(np.uint8).ravel()
    is_header[positions] = True


def _sql_value(value: Any, sql_type: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return {"INTEGER": int, "REAL": float, "TEXT": str}[sql_type](value)


_CORE_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""


def _required_srs_rows() -> list[tuple]:
    wgs84 = srs_record("EPSG:4326")
    return [
        ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84.definition,
         "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
         "undefined cartesian coordinate reference system"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
         "undefined geographic coordinate reference system"),
    ]  # fmt: skip


def write_gpkg(
    target: str | Path,
    layer: str,
    features: Sequence[VectorFeature],
    fields: Sequence[FieldSpec],
    crs: str | None,
) -> Path:
    """Write one MultiPolygon layer as a GeoPackage 1.3 file, atomically.

    Args:
        target: the .gpkg path (replaced if it exists).
        layer: table name (letters, digits, underscore).
        features: the features; attributes missing or NaN become NULL.
        fields: attribute columns, in order.
        crs: "EPSG:n", WKT, or None for an undefined Cartesian CRS (srs_id -1).

    Returns:
        ``target``.
    """
    # One encoder for every layer: the features become label i + 1 of a ring table.
    traced = TracedRings.from_multipolygons(
        {index: feature.polygons for index, feature in enumerate(features, start=1)}
    )
    columns = {
        f.name: np.array([feature.attributes.get(f.name) for feature in features], dtype=object)
        for f in fields
    }
    with TracedLayerWriter(target, layer, fields, crs) as writer:
        writer.add(traced, columns)
    return Path(target)


class TracedLayerWriter:
    """A GeoPackage MultiPolygon layer written piece by piece, atomically.

    Each ``add`` encodes a table of rings with array operations
    (``geopackage_geometries``) and inserts one row per label with ``fid`` = the label,
    so the layer lists features in label order whatever order the pieces come in, and
    only one piece is ever held in memory. The file appears at ``target`` when the
    ``with`` block ends without error; nothing is left otherwise.

    Args:
        target: the .gpkg path (replaced if it exists).
        layer: table name (letters, digits, underscore).
        fields: attribute columns, in order.
        crs: "EPSG:n", WKT, or None for an undefined Cartesian CRS (srs_id -1).
    """

    def __init__(
        self, target: str | Path, layer: str, fields: Sequence[FieldSpec], crs: str | None
    ) -> None:
        if not _NAME.match(layer):
            raise ValueError(f"layer name {layer!r} must be letters, digits and _")
        self.target = Path(target)
        self.layer = layer
        self.fields = list(fields)
        self.srs = srs_record(crs)
        self._bounds: list[np.ndarray] = []
        self._atomic: Any = None
        self._connection: sqlite3.Connection | None = None
        names = "".join(f', "{f.name}"' for f in self.fields)
        # The geometry last: SQLite keeps a trailing zeroblob() unexpanded until it is
        # written in place (``_insert_streamed``); in the middle of a row it is allocated.
        self._insert_sql = (
            f'INSERT INTO "{layer}" (fid{names}, geom) VALUES (?{", ?" * len(self.fields)}, ?)'
        )

    def __enter__(self) -> TracedLayerWriter:
        self._atomic = atomic_path(self.target)
        temp_path = self._atomic.__enter__()
        try:
            self._connection = sqlite3.connect(temp_path)
            # The file is a temporary renamed into place only once complete (and removed
            # on any failure), so SQLite's rollback journal and fsyncs protect nothing
            # here: 0.05 s of a 4096² map's 1 s of polygons. Neither is stored in the file.
            self._connection.execute("PRAGMA journal_mode = OFF")
            self._connection.execute("PRAGMA synchronous = OFF")
            _create_layer(self._connection, self.layer, self.fields, self.srs)
        except BaseException as failure:
            # No with block runs, so no __exit__ would: the temporary file goes here.
            self.__exit__(type(failure), failure, failure.__traceback__)
            raise
        return self

    def add(self, traced: TracedRings, columns: Mapping[str, np.ndarray]) -> None:
        """Insert one feature per label of ``traced`` (``columns`` in its label order).

        Raises:
            InferenceError: a single geometry exceeds SQLite's largest value (1 GB).
        """
        if traced.labels.size == 0:
            return
        if self._connection is None:
            raise RuntimeError("TracedLayerWriter.add() called outside its with block")
        bounds = traced.bounds()
        self._bounds.append(np.array([*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0)]))
        values = [_sql_column(np.asarray(columns[f.name]), f.sql_type) for f in self.fields]
        streamed = traced.labels.size == 1 and traced.xy.shape[0] > STREAMED_GEOMETRY_VERTICES
        if streamed and hasattr(self._connection, "blobopen"):
            row_values = [column[0] for column in values]
            _insert_streamed(
                self._connection, self.layer, self._insert_sql, traced, self.srs.srs_id, row_values
            )
            return
        geometries = geopackage_geometries(traced, self.srs.srs_id)
        self._connection.executemany(
            self._insert_sql,
            zip(traced.labels.tolist(), *values, geometries, strict=True),
        )

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        connection, self._connection = self._connection, None
        try:
            if connection is not None and kind is None:
                extent: tuple[float | None, ...] = (None, None, None, None)
                if self._bounds:
                    stacked = np.array(self._bounds)
                    extent = (*stacked[:, :2].min(axis=0).tolist(),
                              *stacked[:, 2:].max(axis=0).tolist())  # fmt: skip
                _set_extent(connection, self.layer, extent)
                connection.commit()
        except BaseException as failure:
            # A failed commit (a full disk) must remove the file, not rename it into place.
            kind, error, trace = type(failure), failure, failure.__traceback__
            raise
        finally:
            if connection is not None:
                connection.close()
            self._atomic.__exit__(kind, error, trace)


# One geometry with more vertices than this (a gap spanning a large raster) is written
# into its row a ring at a time (SQLite incremental blob I/O), not built in memory with
# the array encoder (``geopackage_geometries``: about 80 bytes per vertex at its peak).
STREAMED_GEOMETRY_VERTICES = 2**20


def _insert_streamed(
    connection: sqlite3.Connection,
    layer: str,
    insert_sql: str,
    traced: TracedRings,
    srs_id: int,
    row_values: list[Any],
) -> None:
    """Insert the one label of ``traced``: a zero blob of the geometry's size first, then
    its bytes written in place, so memory holds one ring's bytes, not the geometry's."""
    size = int(_byte_sizes(traced)[2][0])
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    if size > limit:
        from forestgaps_engine.errors import InferenceError

        raise InferenceError(
            f"gap {int(traced.labels[0])} has {traced.xy.shape[0]} polygon vertices: "
            f"{size / 1e9:.2f} GB as one GeoPackage geometry, over SQLite's limit of "
            f"{limit / 1e9:.2f} GB",
            hint="Bound the gap size (--max-area, or Maximum gap area in QGIS; e.g. 10000 m², "
            "ForestGapR's 1 ha) or use a lower threshold.",
        )
    fid = int(traced.labels[0])
    connection.execute(insert_sql[: -len("?)")] + "zeroblob(?))", [fid, *row_values, size])
    headers, parts = _headers(traced, srs_id)
    with connection.blobopen(layer, "geom", fid) as blob:
        blob.write(headers.tobytes())
        for part, header in enumerate(parts):
            blob.write(header.tobytes())
            first_ring, last_ring = traced.part_offsets[part : part + 2].tolist()
            for ring in range(first_ring, last_ring):
                start, stop = traced.ring_offsets[ring : ring + 2].tolist()
                blob.write(np.array(stop - start, dtype=_RING_HEADER).tobytes())
                for chunk in range(start, stop, STREAMED_GEOMETRY_VERTICES):
                    points = traced.xy[chunk : min(chunk + STREAMED_GEOMETRY_VERTICES, stop)]
                    blob.write(np.ascontiguousarray(points, dtype="<f8").tobytes())


def _sql_column(values: np.ndarray, sql_type: str) -> list[Any]:
    """One column's values as SQL parameters (NaN -> None)."""
    # Numeric columns convert in bulk: a call per value was 60 ms per 100 000 values.
    if sql_type == "REAL" and values.dtype.kind in "fiu":
        return [None if value != value else value for value in values.astype(float).tolist()]
    if sql_type == "INTEGER" and values.dtype.kind in "iu":
        return values.tolist()  # Python ints, whatever the width
    return [_sql_value(value, sql_type) for value in values.tolist()]


def _create_layer(
    connection: sqlite3.Connection, layer: str, fields: Sequence[FieldSpec], srs: SrsRecord
) -> None:
    """The GeoPackage core tables and an empty MultiPolygon layer (extent set later)."""
    column_sql = "".join(f', "{f.name}" {f.sql_type}' for f in fields)
    connection.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
    connection.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
    connection.executescript(_CORE_TABLES)
    srs_rows = _required_srs_rows()
    if srs.srs_id not in (4326, -1, 0):
        srs_rows.append((srs.srs_name, srs.srs_id, srs.organization,
                         srs.organization_coordsys_id, srs.definition, None))  # fmt: skip
    connection.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)", srs_rows)
    connection.execute(
        f'CREATE TABLE "{layer}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL'
        f"{column_sql}, geom MULTIPOLYGON)"
    )
    connection.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description,"
        " srs_id) VALUES (?, 'features', ?, '', ?)",
        (layer, layer, srs.srs_id),
    )
    connection.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)",
        (layer, srs.srs_id),
    )


def _set_extent(
    connection: sqlite3.Connection, layer: str, extent: tuple[float | None, ...]
) -> None:
    connection.execute(
        "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
        (*extent, layer),
    )


def geojson_feature_collection(
    features: Sequence[VectorFeature],
    fields: Sequence[FieldSpec],
    crs: str | None,
    to_wgs84: bool = False,
) -> dict[str, Any]:
    """The features as a GeoJSON FeatureCollection dict (NaN becomes null).

    Args:
        features: the features.
        fields: attribute columns to include, in order.
        crs: the CRS of the feature coordinates.
        to_wgs84: reproject to longitude/latitude (RFC 7946); otherwise coordinates stay in
            ``crs`` and a legacy ``crs`` member names it (GDAL and QGIS honour it).

    Raises:
        ValueError: ``to_wgs84`` without a CRS.
    """
    if to_wgs84 and crs is None:
        raise ValueError("cannot reproject to WGS 84: the features have no CRS")
    out_features = []
    for fid, feature in enumerate(features, start=1):
        geometry: dict[str, Any] = {
            "type": "MultiPolygon",
            "coordinates": [[ring.tolist() for ring in polygon] for polygon in feature.polygons],
        }
        if to_wgs84:
            from rasterio.warp import transform_geom

            geometry = dict(transform_geom(crs, "EPSG:4326", geometry))
        properties = {
            f.name: _sql_value(feature.attributes.get(f.name), f.sql_type) for f in fields
        }
        out_features.append(
            {"type": "Feature", "id": fid, "geometry": geometry, "properties": properties}
        )
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": out_features}
    if not to_wgs84 and crs is not None:
        srs = srs_record(crs)
        if srs.organization == "EPSG":
            name = f"urn:ogc:def:crs:EPSG::{srs.organization_coordsys_id}"
            collection["crs"] = {"type": "name", "properties": {"name": name}}
    return collection


def write_geojson(
    target: str | Path,
    features: Sequence[VectorFeature],
    fields: Sequence[FieldSpec],
    crs: str | None,
    to_wgs84: bool = False,
) -> Path:
    """Write ``geojson_feature_collection(...)`` to ``target`` atomically."""
    collection = geojson_feature_collection(features, fields, crs, to_wgs84)
    with atomic_path(target) as temp_path:
        temp_path.write_text(json.dumps(collection, allow_nan=False), encoding="utf-8")
    return Path(target)

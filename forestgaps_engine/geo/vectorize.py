"""Polygons of a label raster, by GDAL: polygonized into a GeoPackage layer with an R-tree.

GDAL's polygonizer (``gdal.Polygonize``, 4-connected) writes every 4-connected part of
every label into a temporary GeoPackage table, straight from the raster: no Python object
per vertex. Each label then becomes ONE MultiPolygon feature with its attributes: gaps are
8-connected, so a gap whose cells touch only at corners is several parts, and grouping
them keeps every polygon valid (an 8-connected trace would give one self-touching, invalid
ring). The grouping is one SQL statement run by SQLite (SpatiaLite's ``ST_Collect``), or a
Python pass over the parts where GDAL has no SpatiaLite. GDAL's GeoPackage driver writes
the layer and builds its R-tree spatial index (``rtree_<layer>_geom``), so QGIS reads only
the features in view. Measured against the home-made tracer this replaced:
docs/performance.md, "Gap polygons by GDAL".
"""
from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np

from forestgaps_engine import partials
from forestgaps_engine.errors import CancelledError, DataError, ForestGapsError
from forestgaps_engine.files import OutputWriteError, atomic_path
from forestgaps_engine.geo.grid import Grid

# A ring is an (N, 2) float64 array of x, y with the first point repeated last; a polygon
# is its exterior ring followed by its holes; a multipolygon is a list of polygons.
Ring = np.ndarray
Polygon = list[Ring]
MultiPolygon = list[Polygon]

FIELD_TYPES = ("INTEGER", "REAL", "TEXT")
GEOMETRY_COLUMN = "geom"
# Computed from each feature's rings when the caller gives no values for it.
PERIMETER_FIELD = "perimeter_m"
ATTRIBUTE_ROWS_PER_INSERT = 65_536
# False writes every feature from Python even where SpatiaLite could group the parts
# (the path GDAL builds without SpatiaLite take; the tests run both).
USE_SPATIALITE = True
# The exception setting found by the first of the threads inside ``gdal_exceptions``,
# then one entry per thread inside.
_EXCEPTIONS_LOCK = threading.Lock()
_EXCEPTIONS_USERS: list[Any] = []


class GdalBindingsMissingError(ForestGapsError, ImportError):
    """GDAL's Python bindings (``osgeo``) are not installed."""


def gdal_version() -> str:
    """The GDAL library version the bindings must match: ``gdal-config``'s, else rasterio's."""
    executable = shutil.which("gdal-config")
    if executable is not None:
        try:
            done = subprocess.run(
                [executable, "--version"], capture_output=True, text=True, timeout=10, check=True
            )
            return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    import rasterio

    return str(rasterio.__gdal_version__)


def require_ogr() -> tuple[Any, Any, Any]:
    """``(gdal, ogr, osr)`` from ``osgeo``.

    Raises:
        GdalBindingsMissingError: ``osgeo`` cannot be imported (a pip-only install).
    """
    try:
        from osgeo import gdal, ogr, osr
    except ImportError as missing:
        version = gdal_version()
        raise GdalBindingsMissingError(
            f"GDAL's Python bindings (osgeo) are not installed: {missing}",
            hint=f"Install them: pip install GDAL=={version} (the version of your GDAL "
            "library), or the OS package (python3-gdal on Debian/Ubuntu, gdal on conda).",
        ) from missing
    return gdal, ogr, osr


@contextmanager
def gdal_exceptions() -> Iterator[tuple[Any, Any, Any]]:
    """Yield ``(gdal, ogr, osr)`` raising exceptions inside the block.

    The process's own setting comes back after it: QGIS and other plugins expect return
    codes.
    """
    modules = require_ogr()
    # One switch for the process: threads writing layers at once share it, and the last
    # one out restores the setting the first one found.
    with _EXCEPTIONS_LOCK:
        if not _EXCEPTIONS_USERS:
            _EXCEPTIONS_USERS.append([module.GetUseExceptions() for module in modules])
            for module in modules:
                module.UseExceptions()
        _EXCEPTIONS_USERS.append(None)
    try:
        yield modules
    finally:
        with _EXCEPTIONS_LOCK:
            _EXCEPTIONS_USERS.pop()
            if len(_EXCEPTIONS_USERS) == 1:
                previous = _EXCEPTIONS_USERS.pop()
                # The bindings stack their error handlers: they come off in reverse order.
                for module, was_on in reversed(list(zip(modules, previous, strict=True))):
                    if not was_on:
                        module.DontUseExceptions()


def spatial_reference(crs: str | None) -> Any:
    """The OSR spatial reference of ``crs`` ("EPSG:n", WKT, PROJ text).

    No CRS gives the GeoPackage's undefined Cartesian SRS (srs_id -1; gap coordinates are
    planar metres): GDAL's default, srs_id 0, reads back as an undefined geographic CRS.
    """
    _, _, osr = require_ogr()
    reference = osr.SpatialReference()
    if crs is None:
        reference.SetLocalCS("Undefined cartesian SRS")
    else:
        reference.SetFromUserInput(crs)
    reference.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return reference


@contextmanager
def _label_band(labels: str | Path | np.ndarray, grid: Grid | None) -> Iterator[tuple[Any, Any]]:
    """Return ``(label band, mask band)`` of a label raster file or array.

    The mask is 1 where the label is > 0, so that background (0) and nodata (< 0) are never
    polygonized.
    """
    gdal, _, _ = require_ogr()
    if isinstance(labels, np.ndarray):
        if grid is None:
            raise ValueError("a label array needs its grid")
        if labels.shape != grid.shape:
            raise ValueError(f"labels shape {labels.shape} does not match grid {grid.shape}")
        memory = gdal.GetDriverByName("MEM")
        source = memory.Create("", grid.width_px, grid.height_px, 1, gdal.GDT_Int32)
        source.SetGeoTransform(grid.transform.to_gdal())
        source.GetRasterBand(1).WriteArray(np.asarray(labels, dtype=np.int32))
        mask = memory.Create("", grid.width_px, grid.height_px, 1, gdal.GDT_Byte)
        mask.GetRasterBand(1).WriteArray((labels > 0).view(np.uint8))
        yield source.GetRasterBand(1), mask.GetRasterBand(1)
        return
    source = gdal.Open(str(labels))
    # A lookup table clamps ids <= 0 to 0 and ids >= 1 to 1, read by GDAL as it goes:
    # the mask costs no pass over the raster and no file.
    mask = gdal.Open(
        f'<VRTDataset rasterXSize="{source.RasterXSize}" rasterYSize="{source.RasterYSize}">'
        '<VRTRasterBand dataType="Byte" band="1"><ComplexSource>'
        f'<SourceFilename relativeToVRT="0">{xml_escape(str(labels))}</SourceFilename>'
        "<SourceBand>1</SourceBand><LUT>0:0,1:1</LUT></ComplexSource></VRTRasterBand>"
        "</VRTDataset>"
    )
    yield source.GetRasterBand(1), mask.GetRasterBand(1)


def _polygonize_parts(
    labels: str | Path | np.ndarray,
    grid: Grid | None,
    path: Path,
    stop: threading.Event | None = None,
) -> None:
    """Write every 4-connected part of every label > 0 to a new GeoPackage.

    Each part is a Polygon row (``label``, ``geom``) of table ``parts``, indexed by label.
    """
    gdal, ogr, _ = require_ogr()
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    parts = dataset.CreateLayer(
        "parts", None, ogr.wkbPolygon, ["SPATIAL_INDEX=NO", f"GEOMETRY_NAME={GEOMETRY_COLUMN}"]
    )
    parts.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
    with _label_band(labels, grid) as (band, mask):
        dataset.StartTransaction()
        _polygonize_interruptibly(gdal, band, mask, parts, stop)
        dataset.CommitTransaction()
    dataset.ExecuteSQL("CREATE INDEX parts_label ON parts (label)")
    dataset = None  # closed: written


def _polygonize_interruptibly(
    gdal: Any, band: Any, mask: Any, layer: Any, cancelled: threading.Event | None = None
) -> None:
    """Run ``gdal.Polygonize`` in a worker thread while the calling thread waits in Python.

    Signal handlers run in the main thread: a KeyboardInterrupt (Ctrl-C, or SIGTERM through
    ``signals.py``) stops GDAL at its next scanline and is raised once GDAL has returned.
    Called from the main thread, GDAL would finish first (minutes on a large raster) with
    the signal pending. A caller on another thread, where no signal arrives, stops it by
    setting ``cancelled`` (``CancelledError``).
    """
    stop = cancelled if cancelled is not None else threading.Event()

    def keep_going(_fraction: float, _message: str, _data: Any) -> int:
        return 0 if stop.is_set() else 1

    def polygonize() -> None:
        try:  # GDAL raises or returns an error, as its exception mode says
            failed = gdal.Polygonize(band, mask, layer, 0, [], callback=keep_going) != 0
        except RuntimeError:
            if not stop.is_set():
                raise
            failed = True
        if failed and stop.is_set():
            raise CancelledError("polygonizing the gaps was cancelled")
        if failed:
            raise RuntimeError(f"GDAL Polygonize failed: {gdal.GetLastErrorMsg()}")

    with ThreadPoolExecutor(max_workers=1) as pool:
        done = pool.submit(polygonize)
        try:
            while True:
                with contextlib.suppress(FutureTimeout):
                    done.result(timeout=0.2)
                    return
        except BaseException:
            stop.set()
            with contextlib.suppress(Exception):
                done.result()
            raise


def sql_value(dataset: Any, sql: str) -> Any:
    """Run ``sql`` on an OGR dataset: the first field of its first row, else None."""
    result = dataset.ExecuteSQL(sql)
    if result is None:
        return None
    try:
        row = result.GetNextFeature()
        return None if row is None else row.GetField(0)
    finally:
        dataset.ReleaseResultSet(result)


def has_spatialite(dataset: Any) -> bool:
    """Whether GDAL's SQLite has SpatiaLite, whose functions read GeoPackage geometries."""
    try:
        return sql_value(dataset, "SELECT spatialite_version()") is not None and USE_SPATIALITE
    except RuntimeError:
        return False


def too_big_error(error: RuntimeError, target: Path) -> DataError | None:
    """Return the user error for SQLite's refusal of an oversized value, else None.

    SQLite's limit is 1 GB: a gap polygon of about 62 M vertices, one gap spanning a huge
    raster. Any other error gives None.
    """
    if "too big" not in str(error):
        return None
    return DataError(
        f"{target}: a gap polygon is larger than a GeoPackage value can be (1 GB)",
        hint="Bound the gap size (--max-area, or Maximum gap area in QGIS; e.g. 10000 m², "
        "ForestGapR's 1 ha) or use a lower threshold.",
    )


def _sql_values(values: np.ndarray) -> list[Any]:
    """Python values for SQLite and OGR: NaN becomes NULL (None)."""
    return [None if value != value else value for value in values.tolist()]


def _sql_text(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def multipolygon_perimeter(geometry: Any) -> float:
    """Total length of the rings (exteriors and holes) of an OGR MultiPolygon."""
    return sum(
        float(part.GetGeometryRef(ring).Length())
        for part in (geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount()))
        for ring in range(part.GetGeometryCount())
    )


class LabelLayerWriter:
    """A GeoPackage MultiPolygon layer, one feature per label, written by GDAL, atomically.

    Each ``add`` polygonizes a label raster and appends one feature per label id, in id
    order; features are numbered 1, 2, ... across calls. The R-tree is built when the
    ``with`` block ends, then the file is read back (feature count, index) and renamed
    into place; nothing is left on failure.

    Args:
        target: the .gpkg path (replaced if it exists).
        layer: table name (letters, digits, underscore).
        fields: ``(name, "INTEGER" | "REAL" | "TEXT")`` attribute columns, in order.
        crs: "EPSG:n", WKT, or None for an undefined Cartesian CRS (srs_id -1).
    """

    def __init__(
        self, target: str | Path, layer: str, fields: Sequence[tuple[str, str]], crs: str | None
    ) -> None:
        for name in (layer, *(name for name, _ in fields)):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"layer name or field {name!r} must be letters, digits and _")
        for name, sql_type in fields:
            if sql_type not in FIELD_TYPES:
                raise ValueError(f"field {name!r}: type {sql_type!r} not in {FIELD_TYPES}")
        self.target = Path(target)
        self.layer_name = layer
        self.fields = list(fields)
        self.crs = crs
        self.n_features = 0
        self._stack: Any = None
        self._dataset: Any = None
        self._layer: Any = None
        self._parts_dir: Path | None = None

    def __enter__(self) -> LabelLayerWriter:
        self._stack = contextlib.ExitStack()
        try:
            with self._errors_reported():
                _, ogr, _ = self._stack.enter_context(gdal_exceptions())
                temp_path = self._stack.enter_context(atomic_path(self.target, self._verify))
                self._parts_dir = self._stack.enter_context(
                    partials.partial_directory(self.target.parent, f"{self.target.stem}-parts")
                )
                self._dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(temp_path))
                # The index is built once at the end, in one bulk pass, not a row at a time.
                self._layer = self._dataset.CreateLayer(
                    self.layer_name,
                    spatial_reference(self.crs),
                    ogr.wkbMultiPolygon,
                    ["SPATIAL_INDEX=NO", f"GEOMETRY_NAME={GEOMETRY_COLUMN}", "FID=fid"],
                )
                kinds = {"INTEGER": ogr.OFTInteger64, "REAL": ogr.OFTReal, "TEXT": ogr.OFTString}
                for name, sql_type in self.fields:
                    self._layer.CreateField(ogr.FieldDefn(name, kinds[sql_type]))
        except BaseException as failure:
            self.__exit__(type(failure), failure, failure.__traceback__)
            raise
        return self

    def add(
        self,
        labels: str | Path | np.ndarray,
        ids: np.ndarray,
        columns: Mapping[str, Sequence[Any] | np.ndarray],
        grid: Grid | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Append one feature per label id of ``labels``, in increasing id order.

        Args:
            labels: label raster (file path, ids <= 0 are background or nodata), or an
                (H, W) integer array on ``grid``.
            ids: (k,) the label ids present, increasing; checked against the polygons.
            columns: field name -> (k,) values in ``ids`` order (NaN and None: NULL);
                ``perimeter_m`` is measured on the rings when not given.
            grid: the array's grid (its transform places the polygons).
            stop: set from another thread, GDAL stops polygonizing at its next scanline.

        Raises:
            ValueError: the polygons' ids differ from ``ids``.
            CancelledError: ``stop`` was set.
        """
        if self._parts_dir is None:
            raise RuntimeError("LabelLayerWriter.add() called outside its with block")
        parts_path = self._parts_dir / f"parts_{self.n_features}.gpkg"
        try:
            with self._errors_reported():
                _polygonize_parts(labels, grid, parts_path, stop)
            self.add_parts(parts_path, "parts", ids, columns)
        finally:
            parts_path.unlink(missing_ok=True)

    def add_parts(
        self,
        parts_path: Path,
        table: str,
        ids: np.ndarray,
        columns: Mapping[str, Sequence[Any] | np.ndarray],
    ) -> None:
        """Append one feature per label of polygons already in a GeoPackage table.

        Args:
            parts_path: the GeoPackage (``geo.strip_parts`` writes it); left in place.
            table: its table or view of ``(label, geom)`` Polygon rows, with an index
                that yields them by label.
            ids: (k,) the labels present, increasing.
            columns: field name -> (k,) values in ``ids`` order, as ``add`` takes them.
        """
        if self._dataset is None:
            raise RuntimeError("LabelLayerWriter.add_parts() called outside its with block")
        ids = np.asarray(ids, dtype=np.int64)
        values = {name: np.asarray(columns[name]) for name in columns}
        missing = [name for name, _ in self.fields if name not in values]
        if missing not in ([], [PERIMETER_FIELD]):
            raise ValueError(f"no values for fields {missing}")
        with self._errors_reported():
            self._append(parts_path, table, ids, values)

    @contextmanager
    def _errors_reported(self) -> Iterator[None]:
        """GDAL failures in the block raised as the user's error; others unchanged.

        GDAL raises a bare RuntimeError, often with no message, when a write fails (a full
        disk among others); as an ``OutputWriteError`` it lets ``atomic_path`` check the
        folder's free space and report a full disk as the user's to fix.
        """
        try:
            yield
        except ForestGapsError:
            raise
        except RuntimeError as error:
            detail = str(error).strip() or "GDAL gave no reason"
            raise too_big_error(error, self.target) or OutputWriteError(
                f"{self.target}: the GeoPackage could not be written ({detail})"
            ) from error

    def _append(
        self, parts_path: Path, table: str, ids: np.ndarray, values: dict[str, np.ndarray]
    ) -> None:
        """The parts grouped into one feature per label, by SQL when SpatiaLite is there."""
        _, ogr, _ = require_ogr()
        if has_spatialite(self._dataset):
            self._append_by_sql(parts_path, table, ids, values)
            return
        parts_dataset = ogr.Open(str(parts_path))
        ordered = parts_dataset.ExecuteSQL(f"SELECT label, geom FROM {table} ORDER BY label")
        try:
            self._dataset.StartTransaction()
            self._append_grouped(ogr, ordered, ids, values)
            self._dataset.CommitTransaction()
        finally:
            parts_dataset.ReleaseResultSet(ordered)

    def _append_by_sql(
        self, parts_path: Path, table: str, ids: np.ndarray, values: dict[str, np.ndarray]
    ) -> None:
        """Group the parts and join the attributes in one SQL statement run by SQLite.

        SpatiaLite's ``ST_Collect`` (GDAL reads GeoPackage geometries through it) makes
        each label's MultiPolygon; ``AsGPB`` stores it as GeoPackage binary again.
        """
        names = [name for name, _ in self.fields if name in values]
        fids = range(self.n_features + 1, self.n_features + 1 + len(ids))
        with contextlib.closing(sqlite3.connect(parts_path)) as connection, connection:
            columns = "".join(f', "{name}"' for name in names)
            connection.execute(f"CREATE TABLE attrs (label INTEGER PRIMARY KEY, fid{columns})")
            insert = f"INSERT INTO attrs VALUES (?, ?{', ?' * len(names)})"
            # A chunk of rows at a time: as Python objects, the attributes of a million
            # gaps take about 300 MB (16384² forest), more than the rest of the run adds.
            for start in range(0, len(ids), ATTRIBUTE_ROWS_PER_INSERT):
                chunk = slice(start, start + ATTRIBUTE_ROWS_PER_INSERT)
                chunk_values = (_sql_values(values[name][chunk]) for name in names)
                rows = zip(ids[chunk].tolist(), fids[chunk], *chunk_values, strict=True)
                connection.executemany(insert, rows)
            (n_labels,) = connection.execute(
                f"SELECT COUNT(DISTINCT label) FROM {table}"
            ).fetchone()
            (n_joined,) = connection.execute(
                f"SELECT COUNT(*) FROM attrs WHERE label IN (SELECT label FROM {table})"
            ).fetchone()
        if not n_labels == n_joined == len(ids):
            raise ValueError(f"{n_labels} labels have polygons, {len(ids)} ids were given")
        srs_id = sql_value(
            self._dataset,
            "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = "
            + _sql_text(self.layer_name),
        )
        targets = "".join(f', "{name}"' for name in names)
        sources = "".join(f', a."{name}"' for name in names)
        if PERIMETER_FIELD not in values and any(n == PERIMETER_FIELD for n, _ in self.fields):
            targets += f', "{PERIMETER_FIELD}"'
            sources += ", SUM(ST_Perimeter(p.geom))"  # the parts' rings, holes included
        sql_value(self._dataset, f"ATTACH DATABASE {_sql_text(str(parts_path))} AS parts_db")
        try:
            self._dataset.StartTransaction()
            # One pass down the label index, a gap at a time: no subquery (SQLite would
            # store every gap's geometry before the join) and no sort.
            sql_value(
                self._dataset,
                f'INSERT INTO "{self.layer_name}" (fid{targets}, {GEOMETRY_COLUMN})'
                f" SELECT a.fid{sources},"
                f" AsGPB(SetSRID(CastToMultiPolygon(ST_Collect(p.geom)), {srs_id}))"
                f" FROM parts_db.{table} AS p JOIN parts_db.attrs AS a ON a.label = p.label"
                " GROUP BY p.label ORDER BY p.label",
            )
            self._dataset.CommitTransaction()
        finally:
            sql_value(self._dataset, "DETACH DATABASE parts_db")
        self.n_features += len(ids)

    def _append_grouped(
        self, ogr: Any, ordered: Any, ids: np.ndarray, values: dict[str, np.ndarray]
    ) -> None:
        """One MultiPolygon per run of equal labels in ``ordered``, with its row of values."""
        definition = self._layer.GetLayerDefn()
        field_index = [(definition.GetFieldIndex(name), name) for name, _ in self.fields]
        measure_perimeter = PERIMETER_FIELD not in values
        row = -1
        runs = itertools.groupby(ordered, key=lambda part: part.GetField(0))
        for row, (label, parts) in enumerate(runs):
            if row >= len(ids) or ids[row] != label:
                raise ValueError(f"label {label} has polygons but is not in ids")
            multi = ogr.Geometry(ogr.wkbMultiPolygon)
            for part in parts:
                multi.AddGeometry(part.GetGeometryRef())
            feature = ogr.Feature(definition)
            self.n_features += 1
            feature.SetFID(self.n_features)
            for index, name in field_index:
                if name == PERIMETER_FIELD and measure_perimeter:
                    feature.SetField(index, multipolygon_perimeter(multi))
                    continue
                (value,) = _sql_values(values[name][row : row + 1])
                if value is None:
                    feature.SetFieldNull(index)
                else:
                    feature.SetField(index, value)
            feature.SetGeometryDirectly(multi)
            self._layer.CreateFeature(feature)
        if row + 1 != len(ids):
            raise ValueError(f"{len(ids) - row - 1} ids have no polygon")

    def _verify(self, path: Path) -> None:
        """The written file holds every feature and the R-tree (read back by GDAL)."""
        _, ogr, _ = require_ogr()
        dataset = ogr.Open(str(path))
        layer = dataset.GetLayerByName(self.layer_name)
        if layer is None or layer.GetFeatureCount() != self.n_features:
            raise OSError(f"{path}: the GeoPackage read back lacks features")
        if not sql_value(
            dataset, f"SELECT HasSpatialIndex('{self.layer_name}', '{GEOMETRY_COLUMN}')"
        ):
            raise OSError(f"{path}: the GeoPackage read back has no spatial index")

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        dataset, self._dataset, self._layer = self._dataset, None, None
        try:
            with self._errors_reported():
                if dataset is not None and kind is None:
                    sql_value(
                        dataset,
                        f"SELECT CreateSpatialIndex('{self.layer_name}', '{GEOMETRY_COLUMN}')",
                    )
                    dataset.FlushCache()
        except BaseException as failure:
            # A failed commit (a full disk) must remove the file, not rename it into place.
            kind, error, trace = type(failure), failure, failure.__traceback__
            raise
        finally:
            dataset = None  # closes the file before the rename or the removal
            stack, self._stack = self._stack, None
            if stack is not None:
                stack.__exit__(kind, error, trace)


def write_label_polygons(
    target: str | Path,
    layer: str,
    labels: str | Path | np.ndarray,
    fields: Sequence[tuple[str, str]],
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    crs: str | None,
    grid: Grid | None = None,
    stop: threading.Event | None = None,
) -> Path:
    """One MultiPolygon feature per label id 1..n of ``labels``, with ``columns``.

    The arguments are ``LabelLayerWriter``'s and its ``add``'s; ``labels`` holds ids 1..n
    and each column (n,) values indexed by id - 1.

    Returns:
        ``target``.
    """
    if not columns:
        raise ValueError("columns must give at least one field's values")
    n_labels = len(next(iter(columns.values())))
    with LabelLayerWriter(target, layer, fields, crs) as writer:
        writer.add(labels, np.arange(1, n_labels + 1), columns, grid, stop)
    return Path(target)


def label_polygons(labels: np.ndarray, grid: Grid) -> dict[int, MultiPolygon]:
    """Every label id > 0 as one multipolygon of (N, 2) rings, in CRS coordinates.

    For small label arrays (the rings are Python-side arrays): polygonized by GDAL into
    a memory layer.

    Returns:
        id -> parts -> rings (exterior first), ids in increasing order.
    """
    polygons: dict[int, MultiPolygon] = {}
    with gdal_exceptions() as (gdal, ogr, _):
        dataset = ogr.GetDriverByName("Memory").CreateDataSource("")
        layer = dataset.CreateLayer("parts", None, ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
        with _label_band(labels, grid) as (band, mask):
            gdal.Polygonize(band, mask, layer, 0, [])
        for feature in layer:
            geometry = feature.GetGeometryRef()
            rings = [
                np.array(geometry.GetGeometryRef(i).GetPoints(), dtype=np.float64)[:, :2]
                for i in range(geometry.GetGeometryCount())
            ]
            polygons.setdefault(int(feature.GetField(0)), []).append(rings)
    return dict(sorted(polygons.items()))

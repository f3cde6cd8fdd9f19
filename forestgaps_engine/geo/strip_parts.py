"""Polygons of a label raster built block by block, while the strips are still coming.

``predict`` labels the cut strip by strip during the stream (``inference.strip_labels``):
each strip's patches get provisional ids, joined across strip edges by a union-find whose
final ids are known only once the last strip is in. ``StripParts`` polygonizes each block
of labelled strips (``POLYGON_BLOCK_CELLS``; ids are the union-find's roots at that
moment, so a gap's cells in 4-contact within the block share one) with
``gdal.Polygonize``, 4-connected as ``geo.vectorize`` does on the whole raster, into a
temporary GeoPackage table ``parts (label = provisional id)``, on the thread that labels,
while the model works on later strips. ``finish_parts`` then maps provisional ids to
final ids in a SQLite table and merges, with GEOS, only the gaps whose cells face each
other across a block edge (a 4-neighbour contact: the edge split one GDAL polygon in
two); the writer groups the rest as it groups the whole raster's parts. The features are
those of the whole-raster polygonizer: same ids and areas, the same polygons (a merged
gap's vertices may start elsewhere on its rings).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import GEOMETRY_COLUMN, require_ogr, sql_value

PARTS_TABLE = "parts"
# Provisional id -> final id of the kept gaps, and the parts viewed with final ids: the
# table the layer writer groups (``LabelLayerWriter.add_parts``).
GAP_OF_TABLE = "gap_of"
LABELLED_VIEW = "labelled"
# The same for the gaps split by a strip edge, whose parts are merged first.
SPLIT_OF_TABLE = "split_of"
# Split gaps merged per query: few queries, and one batch's polygons in memory.
MERGE_BATCH_GAPS = 2000
# Provisional ids are int32 cells of GDAL's label band.
MAX_PROVISIONAL_ID = np.iinfo(np.int32).max
# Cells polygonized at once (GDAL's bands of them: 40 MB): every block edge splits the gaps across
# it, each merged after the stream, so blocks are taller than the labelling's strips
# (16384² in 128-row strips split 15 % of its 994 532 gaps).
POLYGON_BLOCK_CELLS = 2**23


class StripPartsError(RuntimeError):
    """GDAL failed to polygonize or store a strip (the message says what it returned)."""


def _checked(result: Any, what: str) -> Any:
    """``result`` unless GDAL returned None or an error code (exceptions may be off)."""
    from osgeo import gdal

    if result is None or (isinstance(result, int) and result != 0):
        raise StripPartsError(f"GDAL could not {what}: {gdal.GetLastErrorMsg() or 'no reason'}")
    return result


class StripParts:
    """The 4-connected parts of each labelled strip, written to a temporary GeoPackage.

    Strips come top to bottom, each once, from one thread at a time. GDAL's exception
    mode is read, never set: it is one switch for the whole process, and other threads
    may be writing layers under ``geo.vectorize.gdal_exceptions`` meanwhile.

    Args:
        path: the new ``.gpkg`` (in a temporary folder the caller removes).
        grid: the raster's grid; the strips' polygons are placed on it.
        block_rows: rows the labeller gathers before each ``add_strip``; None:
            ``POLYGON_BLOCK_CELLS`` over the width.
    """

    def __init__(self, path: Path, grid: Grid, block_rows: int | None = None) -> None:
        _, ogr, _ = require_ogr()
        self.path = Path(path)
        self.grid = grid
        self.block_rows = block_rows or max(1, POLYGON_BLOCK_CELLS // max(grid.width_px, 1))
        self.row_off = 0
        self.n_parts = 0
        self._dataset = _checked(
            ogr.GetDriverByName("GPKG").CreateDataSource(str(self.path)), "create " + path.name
        )
        # A temporary file: a crash loses nothing worth a sync per strip.
        sql_value(self._dataset, "PRAGMA synchronous = OFF")
        self._layer = _checked(
            self._dataset.CreateLayer(
                PARTS_TABLE,
                None,
                ogr.wkbPolygon,
                ["SPATIAL_INDEX=NO", f"GEOMETRY_NAME={GEOMETRY_COLUMN}"],
            ),
            "create the parts table",
        )
        _checked(self._layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger)), "add label")

    def add_strip(self, strips: list[np.ndarray], id_of: np.ndarray) -> None:
        """Polygonize the next rows of provisional ids (0 = background), as one block.

        Args:
            strips: consecutive (rows, W) int32 strips of provisional ids, top first.
            id_of: (n,) int32 id written for each provisional id (``id_of[0]`` = 0).

        Raises:
            StripPartsError: GDAL failed.
        """
        from osgeo import gdal

        if self._dataset is None:
            raise RuntimeError("StripParts.add_strip() after close()")
        n_rows = sum(strip.shape[0] for strip in strips)
        width_px = strips[0].shape[1]
        memory = gdal.GetDriverByName("MEM")
        band_source = _checked(memory.Create("", width_px, n_rows, 1, gdal.GDT_Int32), "MEM")
        transform = self.grid.transform * Affine.translation(0, self.row_off)
        band_source.SetGeoTransform(transform.to_gdal())
        band = band_source.GetRasterBand(1)
        mask_source = _checked(memory.Create("", width_px, n_rows, 1, gdal.GDT_Byte), "MEM")
        mask = mask_source.GetRasterBand(1)
        # Strip by strip into GDAL's bands: no copy of the whole block in numpy.
        row = 0
        for strip in strips:
            ids = id_of[strip]
            band.WriteArray(ids.astype(np.int32, copy=False), 0, row)
            mask.WriteArray((ids > 0).view(np.uint8), 0, row)
            row += strip.shape[0]
        self._dataset.StartTransaction()
        before = self._layer.GetFeatureCount()
        _checked(gdal.Polygonize(band, mask, self._layer, 0, []), "polygonize a strip")
        _checked(self._dataset.CommitTransaction(), "commit a strip's polygons")
        self.n_parts += self._layer.GetFeatureCount() - before
        self.row_off += n_rows

    def close(self) -> None:
        """Close the file (written); the label index is built by ``finish_parts``."""
        self._layer = None
        self._dataset = None


@dataclass(frozen=True)
class PartsFile:
    """A strip parts GeoPackage and what maps its provisional ids to gaps.

    Attributes:
        path: the ``.gpkg`` ``StripParts`` wrote.
        final_ids: (n_provisional + 1,) int32, provisional id -> gap id (0 = dropped).
        facing_ids: provisional ids with a cell 4-adjacent to a cell across a strip edge.
    """

    path: Path
    final_ids: np.ndarray
    facing_ids: np.ndarray


@dataclass(frozen=True)
class MergedParts:
    """A strip parts GeoPackage ready to be grouped (``finish_parts``).

    Attributes:
        path: the ``.gpkg``.
        view: its view of ``(label = gap id, geom)`` rows, by gap id down an index.
    """

    path: Path
    view: str


def finish_parts(parts: PartsFile) -> MergedParts:
    """Map the parts to gap ids and merge the gaps split by strip edges.

    Afterwards the file holds ``labelled (label = gap id, geom)``, a view the layer writer
    groups one gap at a time down an index, as it groups a whole raster's parts. Needs
    no GDAL exception setting: it may run beside the layer writers.
    """
    final_ids = np.asarray(parts.final_ids, dtype=np.int64)
    provisional = np.flatnonzero(final_ids)
    gaps = final_ids[provisional]
    split_gaps = np.unique(final_ids[np.asarray(parts.facing_ids, dtype=np.int64)])
    split_gaps = split_gaps[split_gaps > 0]
    is_split = np.isin(gaps, split_gaps)
    with contextlib.closing(sqlite3.connect(parts.path)) as connection, connection:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute(f"CREATE INDEX IF NOT EXISTS parts_label ON {PARTS_TABLE} (label)")
        for table, rows in ((GAP_OF_TABLE, ~is_split), (SPLIT_OF_TABLE, is_split)):
            connection.execute(f"CREATE TABLE {table} (provisional INTEGER PRIMARY KEY, gap)")
            connection.executemany(
                f"INSERT INTO {table} VALUES (?, ?)",
                zip(provisional[rows].tolist(), gaps[rows].tolist(), strict=True),
            )
        connection.execute(f"CREATE INDEX split_of_gap ON {SPLIT_OF_TABLE} (gap, provisional)")
    if split_gaps.size:
        _merge_split_gaps(parts.path, split_gaps, final_ids.size)
    with contextlib.closing(sqlite3.connect(parts.path)) as connection, connection:
        connection.execute(f"CREATE INDEX gap_of_gap ON {GAP_OF_TABLE} (gap, provisional)")
        # Down the gap index, then each provisional id's parts by the label index: the
        # writer's GROUP BY needs no sort.
        connection.execute(
            f"CREATE VIEW {LABELLED_VIEW} AS SELECT g.gap AS label, p.{GEOMETRY_COLUMN}"
            f" AS {GEOMETRY_COLUMN} FROM {GAP_OF_TABLE} AS g"
            f" JOIN {PARTS_TABLE} AS p ON p.label = g.provisional"
        )
    return MergedParts(parts.path, LABELLED_VIEW)


def _merge_split_gaps(path: Path, split_gaps: np.ndarray, first_new_id: int) -> None:
    """Each split gap's parts unioned by GEOS and stored as new parts under a new id.

    Gaps are read ``MERGE_BATCH_GAPS`` at a time, down the gap index, and their merged
    polygons written before the next batch: memory holds one batch's polygons. The union
    keeps a node where the strip edge crossed a side, a vertex on a straight line (even
    as a ring's first point, which GEOS's simplifiers keep): every such vertex is
    dropped, so the rings have the vertices the whole raster's polygonizer gives.
    """
    _, ogr, _ = require_ogr()
    dataset = _checked(ogr.Open(str(path), 1), f"open {path.name}")
    layer = dataset.GetLayerByName(PARTS_TABLE)
    new_rows: list[tuple[int, int]] = []
    for batch_start in range(0, split_gaps.size, MERGE_BATCH_GAPS):
        batch = split_gaps[batch_start : batch_start + MERGE_BATCH_GAPS]
        merged: list[tuple[int, list[Any]]] = []
        result = dataset.ExecuteSQL(
            f"SELECT s.gap AS gap, p.{GEOMETRY_COLUMN} FROM {SPLIT_OF_TABLE} AS s"
            f" JOIN {PARTS_TABLE} AS p ON p.label = s.provisional"
            f" WHERE s.gap BETWEEN {int(batch[0])} AND {int(batch[-1])} ORDER BY s.gap"
        )
        try:
            for gap, parts in itertools.groupby(result, key=lambda part: part.GetField(0)):
                collected = ogr.Geometry(ogr.wkbMultiPolygon)
                for part in parts:
                    collected.AddGeometry(part.GetGeometryRef())
                union = _checked(collected.UnionCascaded(), "merge a gap's strip parts")
                merged.append((gap, _polygons(ogr, union)))
        finally:
            dataset.ReleaseResultSet(result)
        dataset.StartTransaction()
        for gap, polygons in merged:
            new_id = first_new_id + len(new_rows)
            for polygon in polygons:
                feature = ogr.Feature(layer.GetLayerDefn())
                feature.SetField("label", new_id)
                feature.SetGeometryDirectly(polygon)
                _checked(layer.CreateFeature(feature), "store a merged gap")
            new_rows.append((new_id, int(gap)))
        _checked(dataset.CommitTransaction(), "commit the merged gaps")
    dataset = None  # closed: written
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(f"INSERT INTO {GAP_OF_TABLE} VALUES (?, ?)", new_rows)


def _polygons(ogr: Any, geometry: Any) -> list[Any]:
    """The polygons of a Polygon or MultiPolygon, with no vertex on a straight side."""
    kind = ogr.GT_Flatten(geometry.GetGeometryType())
    if kind == ogr.wkbPolygon:
        polygons = [geometry]
    elif kind == ogr.wkbMultiPolygon:
        polygons = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
    else:
        raise StripPartsError(f"a merged gap is a {geometry.GetGeometryName()}, not polygons")
    cleaned = []
    for polygon in polygons:
        rebuilt = ogr.Geometry(ogr.wkbPolygon)
        for index in range(polygon.GetGeometryCount()):
            points = np.array(polygon.GetGeometryRef(index).GetPoints(), dtype=np.float64)
            ring = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in _corners(points[:-1, :2]).tolist():
                ring.AddPoint_2D(x, y)
            ring.CloseRings()
            rebuilt.AddGeometryDirectly(ring)
        cleaned.append(rebuilt)
    return cleaned


def _corners(ring: np.ndarray) -> np.ndarray:
    """The (n, 2) vertices of an open ring where it turns (no vertex on a straight side)."""
    before = np.roll(ring, 1, axis=0)
    after = np.roll(ring, -1, axis=0)
    # Exact: the sides run along cell edges, so a straight vertex shares x or y exactly.
    cross = (ring[:, 0] - before[:, 0]) * (after[:, 1] - ring[:, 1]) - (
        ring[:, 1] - before[:, 1]
    ) * (after[:, 0] - ring[:, 0])
    return ring[cross != 0]

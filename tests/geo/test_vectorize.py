"""Gap polygons by GDAL checked against the label raster: one valid MultiPolygon per gap,
its parts the gap's 4-connected patches, the same cells, area and perimeter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio import features
from scipy import ndimage

from forestgaps_engine.gaps.detector import EIGHT_CONNECTED
from forestgaps_engine.geo import vectorize
from forestgaps_engine.geo.grid import Grid

ogr = pytest.importorskip("osgeo.ogr")

GRID = Grid("EPSG:2154", Affine(0.5, 0, 650000, 0, -0.5, 6860000), 120, 90)
FIELDS = [("gap_id", "INTEGER"), ("area_m2", "REAL"), ("perimeter_m", "REAL")]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=[True, False], ids=["spatialite", "python"])
def grouping(request, monkeypatch) -> bool:
    """Both ways of grouping parts: SpatiaLite SQL, and the loop for GDALs without it."""
    monkeypatch.setattr(vectorize, "USE_SPATIALITE", request.param)
    return request.param


def _gaps(seed: int = 7) -> np.ndarray:
    """8-connected gap ids 1..n: random cells (many corner-only contacts), a block with a
    hole and an island gap inside the hole, nodata (-1) never drawn."""
    rng = np.random.default_rng(seed)
    is_gap = rng.random(GRID.shape) > 0.55
    is_gap[20:60, 10:50] = True
    is_gap[30:40, 20:30] = False
    is_gap[33:36, 23:26] = True
    ids, _ = ndimage.label(is_gap, structure=EIGHT_CONNECTED)
    ids = ids.astype(np.int32)
    ids[100:104, 0:5] = np.where(ids[100:104, 0:5] > 0, -1, ids[100:104, 0:5])
    # Ids present must be 1..n: renumber after the nodata cut.
    present = np.unique(ids[ids > 0])
    renumbered = np.zeros(present.max() + 1, np.int32)
    renumbered[present] = np.arange(1, present.size + 1)
    return np.where(ids > 0, renumbered[np.maximum(ids, 0)], ids)


def _write_ids(path: Path, ids: np.ndarray) -> Path:
    profile = {"driver": "GTiff", "dtype": "int32", "count": 1, "nodata": -1}
    with rasterio.open(
        path, "w", **profile, height=ids.shape[0], width=ids.shape[1], crs=GRID.crs,
        transform=GRID.transform,
    ) as out:  # fmt: skip
        out.write(ids, 1)
    return path


def _check_against_raster(gpkg: Path, layer_name: str, ids: np.ndarray) -> None:
    """Every gap: one valid MultiPolygon, parts = its 4-connected patches, drawing exactly
    its cells; area and perimeter those of its cells."""
    n_gaps = int(ids.max())
    positive = np.where(ids > 0, ids, 0)
    dataset = ogr.Open(str(gpkg))
    layer = dataset.GetLayerByName(layer_name)
    assert layer.GetGeomType() == ogr.wkbMultiPolygon
    assert layer.GetFeatureCount() == n_gaps
    counts = np.bincount(positive.ravel(), minlength=n_gaps + 1)
    # Cell sides between a gap and anything else: the perimeter in cells.
    padded = np.pad(positive, 1)
    sides = np.zeros(n_gaps + 1)
    for axis in (0, 1):
        for shift in (1, -1):
            other = np.roll(padded, shift, axis=axis)[1:-1, 1:-1]
            differs = (positive != other) & (positive > 0)
            sides += np.bincount(positive[differs], minlength=n_gaps + 1)
    cell_m = abs(GRID.transform.a)
    drawn = np.zeros(ids.shape, dtype=np.int32)
    n_multipart = 0
    for gap_id, feature in enumerate(layer, start=1):
        assert feature.GetFID() == gap_id and feature.GetField("gap_id") == gap_id
        geometry = feature.GetGeometryRef().Clone()
        assert geometry.GetGeometryType() == ogr.wkbMultiPolygon and geometry.IsValid()
        _, n_patches = ndimage.label(positive == gap_id)  # 4-connected
        assert geometry.GetGeometryCount() == n_patches
        n_multipart += n_patches > 1
        assert geometry.GetArea() == pytest.approx(counts[gap_id] * cell_m**2)
        assert feature.GetField("area_m2") == pytest.approx(counts[gap_id] * cell_m**2)
        assert feature.GetField("perimeter_m") == pytest.approx(sides[gap_id] * cell_m)
        shape = json.loads(geometry.ExportToJson())
        drawn += gap_id * features.rasterize(
            [(shape, 1)], out_shape=ids.shape, transform=GRID.transform, dtype="uint8"
        )
    np.testing.assert_array_equal(drawn, positive)  # each gap cell once, nothing else
    assert n_multipart > 5  # corner-only contacts were there to group


def test_polygons_of_an_ids_raster_equal_its_cells(tmp_path, grouping) -> None:
    ids = _gaps()
    path = _write_ids(tmp_path / "ids.tif", ids)
    n_gaps = int(ids.max())
    counts = np.bincount(np.where(ids > 0, ids, 0).ravel(), minlength=n_gaps + 1)[1:]
    columns = {"gap_id": np.arange(1, n_gaps + 1), "area_m2": counts * 0.25}
    target = vectorize.write_label_polygons(
        tmp_path / "gaps.gpkg", "gaps", path, FIELDS, columns, GRID.crs
    )
    _check_against_raster(target, "gaps", ids)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaps.gpkg", "ids.tif"]


def test_an_array_gives_the_same_features_as_its_raster(tmp_path, grouping) -> None:
    ids = _gaps(seed=3)
    n_gaps = int(ids.max())
    columns = {"gap_id": np.arange(1, n_gaps + 1), "area_m2": np.zeros(n_gaps)}
    from_file = vectorize.write_label_polygons(
        tmp_path / "f.gpkg", "gaps", _write_ids(tmp_path / "ids.tif", ids), FIELDS, columns,
        GRID.crs,
    )  # fmt: skip
    from_array = vectorize.write_label_polygons(
        tmp_path / "a.gpkg", "gaps", ids, FIELDS, columns, GRID.crs, GRID
    )
    rows = []
    for path in (from_file, from_array):
        dataset = ogr.Open(str(path))
        rows.append([(f.GetFID(), f.GetGeometryRef().ExportToWkt()) for f in dataset.GetLayer(0)])
    assert rows[0] == rows[1] and len(rows[0]) == n_gaps


def test_attributes_written_in_chunks_keep_every_value_and_null(
    tmp_path, grouping, monkeypatch
) -> None:
    """Attributes go to SQLite a chunk of rows at a time (a million gaps' values as Python
    objects cost ~300 MB): every row still gets its own values, NaN and None as NULL."""
    monkeypatch.setattr(vectorize, "ATTRIBUTE_ROWS_PER_INSERT", 4)
    ids = _gaps(seed=11)
    n_gaps = int(ids.max())
    assert n_gaps > 3 * 4
    area_m2 = np.arange(1, n_gaps + 1) * 0.25
    area_m2[[0, 5, n_gaps - 1]] = np.nan
    names = np.array([f"gap {i}" for i in range(1, n_gaps + 1)], dtype=object)
    names[[2, 9]] = None
    fields = [*FIELDS, ("name", "TEXT")]
    columns = {"gap_id": np.arange(1, n_gaps + 1), "area_m2": area_m2, "name": names}
    target = vectorize.write_label_polygons(
        tmp_path / "gaps.gpkg", "gaps", ids, fields, columns, GRID.crs, GRID
    )
    dataset = ogr.Open(str(target))
    rows = [
        (f.GetFID(), f.GetField("gap_id"), f.GetField("area_m2"), f.GetField("name"))
        for f in dataset.GetLayer(0)
    ]
    expected_area = [None if a != a else a for a in area_m2.tolist()]
    gap_ids = range(1, n_gaps + 1)
    assert rows == list(zip(gap_ids, gap_ids, expected_area, names.tolist(), strict=True))


def test_a_stop_set_from_another_thread_stops_gdal_and_leaves_nothing(tmp_path) -> None:
    """Polygonizers on worker threads get no signal: ``predict`` stops them by an event."""
    import threading

    from forestgaps_engine.errors import CancelledError

    ids = _gaps(seed=13)
    columns = {"gap_id": np.arange(1, int(ids.max()) + 1)}
    stop = threading.Event()
    stop.set()
    target = tmp_path / "out" / "gaps.gpkg"
    target.parent.mkdir()
    with pytest.raises(CancelledError):
        vectorize.write_label_polygons(
            target, "gaps", ids, FIELDS, columns, GRID.crs, GRID, stop=stop
        )
    assert sorted(p.name for p in target.parent.iterdir()) == []


def test_ids_that_disagree_with_the_raster_leave_nothing(tmp_path, grouping) -> None:
    ids = _gaps(seed=5)
    n_gaps = int(ids.max())
    columns = {"gap_id": np.arange(1, n_gaps), "area_m2": np.zeros(n_gaps - 1)}  # one short
    with pytest.raises(ValueError):
        vectorize.write_label_polygons(
            tmp_path / "g.gpkg", "gaps", ids, FIELDS, columns, GRID.crs, GRID
        )
    assert list(tmp_path.iterdir()) == []


def test_label_polygons_give_rings_in_crs_coordinates() -> None:
    grid = Grid("EPSG:2154", Affine(2.0, 0.0, 1000.0, 0.0, -2.0, 5000.0), 5, 6)
    labels = np.zeros((5, 6), dtype=np.int32)
    labels[0, 0] = labels[1, 1] = 4  # two cells touching at a corner: one gap, two parts
    labels[0:3, 3:6] = 9  # a 3x3 block with a hole
    labels[1, 4] = 0
    polygons = vectorize.label_polygons(labels, grid)
    assert list(polygons) == [4, 9]
    assert len(polygons[4]) == 2 and all(len(part) == 1 for part in polygons[4])
    assert len(polygons[9]) == 1 and len(polygons[9][0]) == 2  # exterior and hole
    exterior = polygons[9][0][0]
    assert exterior.min(axis=0).tolist() == [1006.0, 4994.0]
    assert exterior.max(axis=0).tolist() == [1012.0, 5000.0]


def test_without_gdal_bindings_the_error_names_the_pip_and_os_packages() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'osgeo' or name.startswith('osgeo.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "from forestgaps_engine.geo.vectorize import gdal_version, require_ogr\n"
        "try:\n"
        "    require_ogr()\n"
        "except ImportError as error:\n"
        "    print(str(error)); print(gdal_version())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    message, version = done.stdout.strip().splitlines()
    assert f"pip install GDAL=={version}" in message
    assert "python3-gdal" in message and "osgeo" in message
    assert version.count(".") >= 2


STOPPED_CHILD = r"""
import sys, time
import numpy as np, rasterio
from affine import Affine
from forestgaps_engine import signals
from forestgaps_engine.geo.vectorize import write_label_polygons

signals.install_stop_handlers()
folder = sys.argv[1]
size = 3000
ids = (np.random.default_rng(0).random((size, size)) > 0.5).astype("int32")  # one id
with rasterio.open(f"{folder}/ids.tif", "w", driver="GTiff", dtype="int32", count=1,
                   height=size, width=size, crs="EPSG:2154",
                   transform=Affine(1, 0, 0, 0, -1, size)) as out:
    out.write(ids, 1)
print("polygonizing", flush=True)
try:
    write_label_polygons(f"{folder}/out/gaps.gpkg", "gaps", f"{folder}/ids.tif",
                         [("gap_id", "INTEGER")], {"gap_id": [1]}, "EPSG:2154")
except KeyboardInterrupt as interrupt:
    sys.exit(signals.exit_code_of(interrupt))
sys.exit(0)
"""


def test_sigterm_stops_gdal_at_once_and_leaves_nothing(tmp_path) -> None:
    import signal
    import time

    (tmp_path / "out").mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", STOPPED_CHILD, str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout.readline().strip() == "polygonizing"
    time.sleep(1.0)  # inside gdal.Polygonize: 9 M cells of noise take it many seconds
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=60) == 128 + signal.SIGTERM
    # GDAL stopped at its next scanline, not at the end of the raster.
    assert time.monotonic() - sent < 5.0
    assert list((tmp_path / "out").iterdir()) == []


def test_threads_inside_gdal_exceptions_share_the_switch_and_restore_it():
    import threading

    from osgeo import gdal

    was_on = gdal.GetUseExceptions()
    if was_on:
        gdal.DontUseExceptions()
    try:
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
        seen: list[bool] = []

        def first() -> None:
            with vectorize.gdal_exceptions():
                first_in.set()
                second_in.wait(5)
            first_out.set()

        def second() -> None:
            first_in.wait(5)
            with vectorize.gdal_exceptions():
                second_in.set()
                first_out.wait(5)
                # The first thread left: exceptions stay on for this one.
                seen.append(bool(gdal.GetUseExceptions()))

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert seen == [True]
        assert not gdal.GetUseExceptions()
    finally:
        if was_on:
            gdal.UseExceptions()

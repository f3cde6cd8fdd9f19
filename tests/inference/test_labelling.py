"""The in-place labelling numbers gaps exactly as the classic detector does."""

from __future__ import annotations

import numpy as np
import pytest

from forestgaps_engine.gaps.detector import label_gaps
from forestgaps_engine.inference.postprocess import count_ids, label_mask_in_place


@pytest.mark.parametrize("min_area_m2", [0.0, 2.0, 9.0])
def testlabel_mask_in_place_equals_label_gaps(min_area_m2: float) -> None:
    rng = np.random.default_rng(3)
    is_gap = rng.random((300, 170)) > 0.62
    expected = label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, 0.5, min_area_m2, float("inf"))
    actual = label_mask_in_place(is_gap, 0.5, min_area_m2)
    assert actual.dtype == np.int32
    np.testing.assert_array_equal(actual, expected)
    assert actual.max() > 10


def test_count_ids_by_strips_equals_bincount() -> None:
    ids = np.random.default_rng(0).integers(0, 40, (1100, 30)).astype(np.int32)
    np.testing.assert_array_equal(count_ids(ids, 45), np.bincount(ids.ravel(), minlength=46))
    assert label_mask_in_place(np.zeros((4, 4), bool), 1.0, 0.0).max() == 0


def test_gap_polygons_box_by_box_equal_the_whole_raster_trace() -> None:
    from affine import Affine

    from forestgaps_engine.geo.grid import Grid
    from forestgaps_engine.geo.vectorize import label_polygons
    from forestgaps_engine.inference.polygons import gap_polygons
    from forestgaps_engine.inference.postprocess import GapLabels

    rng = np.random.default_rng(5)
    is_gap = rng.random((120, 90)) > 0.55
    is_gap[20:60, 10:50] = True
    is_gap[30:40, 20:30] = False  # a hole
    is_gap[33:36, 23:26] = True  # an island inside the hole: another gap
    ids = label_mask_in_place(is_gap, 1.0, 3.0)
    grid = Grid("EPSG:2154", Affine(0.5, 0, 650000, 0, -0.5, 6860000), 120, 90)
    expected = label_polygons(ids, grid)
    actual = gap_polygons(GapLabels(ids=ids, valid=np.ones_like(is_gap), grid=grid)).multipolygons()
    assert list(actual) == list(expected) and len(actual) > 20
    for gap_id, polygons in expected.items():
        assert len(actual[gap_id]) == len(polygons)
        for got, want in zip(actual[gap_id], polygons, strict=True):
            assert len(got) == len(want)
            for ring_got, ring_want in zip(got, want, strict=True):
                np.testing.assert_allclose(ring_got, ring_want)


@pytest.mark.parametrize("max_area_m2", [1.0, 3.0, 40.0])
def test_max_area_bound_equals_label_gaps(max_area_m2: float) -> None:
    rng = np.random.default_rng(5)
    is_gap = rng.random((200, 120)) > 0.6
    expected = label_gaps(np.where(is_gap, 0.0, 1.0), 0.5, 0.5, 1.0, max_area_m2)
    actual = label_mask_in_place(is_gap, 0.5, 1.0, max_area_m2)
    np.testing.assert_array_equal(actual, expected)
    areas = np.bincount(actual.ravel())[1:] * 0.5
    assert areas.size > 3 and areas.max() <= max_area_m2


@pytest.mark.parametrize("strip_rows", [7, 16, 1000])
def test_gap_polygons_strip_by_strip_equal_the_whole_raster_trace(
    tmp_path, monkeypatch, strip_rows: int
) -> None:
    """On-disk gaps inside a strip are traced with the strip, the others box by box."""
    import rasterio
    from affine import Affine
    from scipy import ndimage

    from forestgaps_engine.geo.grid import Grid
    from forestgaps_engine.geo.vectorize import label_polygons
    from forestgaps_engine.inference.polygons import gap_polygons
    from forestgaps_engine.inference.postprocess import GapRasters

    rng = np.random.default_rng(7)
    is_gap = rng.random((120, 90)) > 0.55
    is_gap[20:60, 10:50] = True  # crosses several strips
    is_gap[30:40, 20:30] = False
    is_gap[33:36, 23:26] = True
    ids = label_mask_in_place(is_gap, 1.0, 3.0)
    ids[100:104, 0:5] = -1  # nodata is never traced
    grid = Grid("EPSG:2154", Affine(0.5, 0, 650000, 0, -0.5, 6860000), 120, 90)
    path = tmp_path / "ids.tif"
    profile = {"driver": "GTiff", "dtype": "int32", "count": 1, "height": 120, "width": 90}
    with rasterio.open(path, "w", **profile, crs="EPSG:2154", transform=grid.transform) as out:
        out.write(ids, 1)
    positive = np.where(ids > 0, ids, 0)
    boxes = np.array(
        [[b[0].start, b[0].stop, b[1].start, b[1].stop] for b in ndimage.find_objects(positive)]
    )
    gaps = GapRasters(path, grid, np.ones(len(boxes)), boxes, int((ids >= 0).sum()), 0)
    monkeypatch.setattr(
        "forestgaps_engine.inference.postprocess.strip_rows_for", lambda _width: strip_rows
    )

    expected = label_polygons(positive, grid)
    actual = gap_polygons(gaps).multipolygons()

    # The same polygons; GDAL may start a ring at another vertex or list parts in another
    # order when it traces a strip instead of a box.
    assert list(actual) == list(expected) and len(actual) > 20
    for gap_id, polygons in expected.items():
        assert _canonical(actual[gap_id]) == _canonical(polygons)


def _canonical(polygons) -> list:
    def ring_key(ring: np.ndarray) -> tuple:
        vertices = [tuple(np.round(v, 6)) for v in ring[:-1]]
        start = vertices.index(min(vertices))
        return tuple(vertices[start:] + vertices[:start])

    return sorted(
        (ring_key(polygon[0]), tuple(sorted(ring_key(hole) for hole in polygon[1:])))
        for polygon in polygons
    )

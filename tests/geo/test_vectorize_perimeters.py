"""Perimeters of many multipolygons at once equal the ring-by-ring sums."""

from __future__ import annotations

import numpy as np
from affine import Affine

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import (
    label_polygons,
    multipolygon_perimeter,
    multipolygon_perimeters,
)


def test_bulk_perimeters_equal_ring_by_ring_sums() -> None:
    rng = np.random.default_rng(3)
    is_gap = rng.random((80, 70)) > 0.55
    is_gap[10:40, 10:40] = True
    is_gap[20:25, 20:25] = False  # a hole: its ring counts too
    from scipy import ndimage

    ids, _n = ndimage.label(is_gap, structure=np.ones((3, 3)))
    grid = Grid("EPSG:2154", Affine(0.5, 0, 650000, 0, -0.5, 6860000), 80, 70)
    polygons = list(label_polygons(ids.astype(np.int32), grid).values())

    bulk = multipolygon_perimeters(polygons)

    expected = [multipolygon_perimeter(item) for item in polygons]
    assert len(polygons) > 20 and any(len(item) > 1 or len(item[0]) > 1 for item in polygons)
    np.testing.assert_array_equal(bulk, expected)
    assert multipolygon_perimeters([]).shape == (0,)

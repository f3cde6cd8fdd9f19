"""Perimeters of all traced gaps at once (``TracedRings.perimeters``) equal the ring-by-ring sums."""

from __future__ import annotations

import numpy as np
from affine import Affine

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import label_rings, multipolygon_perimeter


def test_bulk_perimeters_equal_ring_by_ring_sums() -> None:
    rng = np.random.default_rng(3)
    is_gap = rng.random((80, 70)) > 0.55
    is_gap[10:40, 10:40] = True
    is_gap[20:25, 20:25] = False  # a hole: its ring counts too
    from scipy import ndimage

    ids, _n = ndimage.label(is_gap, structure=np.ones((3, 3)))
    grid = Grid("EPSG:2154", Affine(0.5, 0, 650000, 0, -0.5, 6860000), 80, 70)
    traced = label_rings(ids.astype(np.int32), grid)
    polygons = list(traced.multipolygons().values())

    bulk = traced.perimeters()

    expected = [multipolygon_perimeter(item) for item in polygons]
    assert len(polygons) > 20 and any(len(item) > 1 or len(item[0]) > 1 for item in polygons)
    np.testing.assert_array_equal(bulk, expected)
    empty = label_rings(np.zeros((4, 5), dtype=np.int32), Grid(None, Affine.identity(), 4, 5))
    assert empty.perimeters().shape == (0,)

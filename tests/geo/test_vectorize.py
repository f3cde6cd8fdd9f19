"""Polygons of label rasters: one feature per id, diagonal parts, holes, areas, perimeters."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.vectorize import (
    gap_features,
    label_polygons,
    multipolygon_area,
    multipolygon_perimeter,
)

GRID_2M = Grid("EPSG:2154", Affine(2.0, 0.0, 1000.0, 0.0, -2.0, 5000.0), 5, 6)


def _labels() -> np.ndarray:
    labels = np.zeros((5, 6), dtype=np.int32)
    labels[0, 0] = labels[1, 1] = 1  # two cells touching at a corner: one 8-connected gap
    labels[0:3, 3:6] = 2  # 3x3 ring with a hole
    labels[1, 4] = 0
    labels[4, 0:2] = 3
    return labels


def test_each_id_becomes_one_multipolygon_in_crs_coordinates() -> None:
    polygons = label_polygons(_labels(), GRID_2M)
    assert list(polygons) == [1, 2, 3]
    assert len(polygons[1]) == 2  # diagonal parts stay separate polygons of one feature
    assert len(polygons[2]) == 1 and len(polygons[2][0]) == 2  # exterior + hole
    exterior = polygons[3][0][0]
    assert exterior[:, 0].min() == 1000.0 and exterior[:, 0].max() == 1004.0
    assert exterior[:, 1].min() == 4990.0 and exterior[:, 1].max() == 4992.0


def test_areas_and_perimeters_in_metres() -> None:
    polygons = label_polygons(_labels(), GRID_2M)
    assert multipolygon_area(polygons[1]) == pytest.approx(8.0)
    assert multipolygon_perimeter(polygons[1]) == pytest.approx(16.0)
    assert multipolygon_area(polygons[2]) == pytest.approx(8 * 4.0)
    assert multipolygon_perimeter(polygons[2]) == pytest.approx(4 * 6.0 + 4 * 2.0)


def test_gap_features_carry_area_perimeter_and_columns() -> None:
    labels = _labels()
    features = gap_features(labels, GRID_2M, {"chm_sd": np.array([0.5, np.nan, 1.0])})
    assert [f.attributes["gap_id"] for f in features] == [1, 2, 3]
    for feature in features:
        gap_id = feature.attributes["gap_id"]
        cells = int((labels == gap_id).sum())
        assert feature.attributes["area_m2"] == cells * 4.0
        assert multipolygon_area(feature.polygons) == pytest.approx(cells * 4.0)
    assert np.isnan(features[1].attributes["chm_sd"])
    assert features[2].bounds == (1000.0, 4990.0, 1004.0, 4992.0)


def test_no_gap_gives_no_feature_and_bad_columns_are_rejected() -> None:
    assert gap_features(np.zeros((5, 6), np.int32), GRID_2M) == []
    with pytest.raises(ValueError, match="3 gaps"):
        gap_features(_labels(), GRID_2M, {"x": np.zeros(2)})

"""Polygons made strip by strip during labelling: the whole raster's features, to the vertex."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from forestgaps_engine.geo import vectorize
from forestgaps_engine.geo.grid import Grid
from forestgaps_engine.geo.strip_parts import StripParts, finish_parts
from forestgaps_engine.inference.strip_labels import StripLabeller, final_strips, label_strips
from tests.inference.polygon_equality import layer_features

ogr = pytest.importorskip("osgeo.ogr")

FIELDS = [("gap_id", "INTEGER"), ("area_m2", "REAL"), ("perimeter_m", "REAL")]
STRIP_ROWS = 5


@pytest.fixture(params=[True, False], ids=["spatialite", "python"])
def grouping(request, monkeypatch) -> bool:
    """Both ways of grouping parts: SpatiaLite SQL, and the loop for GDALs without it."""
    monkeypatch.setattr(vectorize, "USE_SPATIALITE", request.param)
    return request.param


def _grid(height_px: int, width_px: int) -> Grid:
    return Grid("EPSG:2154", Affine(0.5, 0, 650000.5, 0, -0.5, 6860000), height_px, width_px)


def _shapes() -> np.ndarray:
    """Gaps built to cross the 5-row strip edges in every way that matters."""
    is_gap = np.zeros((41, 30), dtype=bool)
    # A winding gap down eight strips with a branch, and a step across a strip edge.
    is_gap[1:38, 2:4] = True
    is_gap[9:11, 2:9] = True
    is_gap[14:16, 6:8] = True
    # A ring whose hole spans two strip edges, an island gap in the hole.
    is_gap[3:14, 12:21] = True
    is_gap[5:12, 14:19] = False
    is_gap[8, 16:18] = True
    # Diagonal-only contacts across a strip edge (rows 19 | 20): one gap, two parts.
    is_gap[19, 24] = True
    is_gap[20, 25] = True
    is_gap[21, 26] = True
    # A pinch: a 4-connected ring whose hole meets the outside at one corner, on an edge.
    is_gap[23:28, 10:15] = True
    is_gap[24, 11:13] = False
    is_gap[25, 11] = False
    is_gap[25, 13:15] = False
    # Tiny specks dropped by the minimum area, one on a strip edge.
    is_gap[39, 28] = True
    is_gap[34, 20] = True
    return is_gap


def _random(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((57, 44)) < 0.3


def _both_paths(
    tmp_path: Path, is_gap: np.ndarray, min_area_m2: float, block_rows: int | None = STRIP_ROWS
) -> tuple[list, list, int]:
    grid = _grid(*is_gap.shape)
    height_px = is_gap.shape[0]

    def read(off: int, n: int) -> np.ndarray:
        return is_gap[off : off + n]

    labelling = label_strips(read, height_px, STRIP_ROWS, grid.cell_area_m2, min_area_m2)
    ids = np.concatenate([strip for _, strip in final_strips(read, labelling)])
    columns = {
        "gap_id": np.arange(1, labelling.n_gaps + 1),
        "area_m2": labelling.cell_counts * grid.cell_area_m2,
    }
    whole = tmp_path / "whole.gpkg"
    vectorize.write_label_polygons(whole, "gaps", ids, FIELDS, columns, grid.crs, grid)

    labeller = StripLabeller(STRIP_ROWS, StripParts(tmp_path / "parts.gpkg", grid, block_rows))
    for row_off in range(0, height_px, 3):  # rows in pieces that are not strips
        labeller.add_rows(is_gap[row_off : row_off + 3])
    streamed = labeller.finish(grid.cell_area_m2, min_area_m2)
    assert np.array_equal(streamed.final_ids, labelling.final_ids)
    strips = tmp_path / "strips.gpkg"
    with vectorize.LabelLayerWriter(strips, "gaps", FIELDS, grid.crs) as writer:
        merged = finish_parts(streamed.parts)
        writer.add_parts(merged.path, merged.view, columns["gap_id"], columns)
    return layer_features(whole), layer_features(strips), streamed.final_ids.size


# Polygonized by labelling strip (5 rows), by blocks of 3 strips (rows 0-14, 15-29, ...),
# and as one block.
@pytest.mark.parametrize("block_rows", [STRIP_ROWS, 12, None])
def test_shapes_across_strip_edges_give_the_whole_raster_features(
    tmp_path, grouping, block_rows
):
    whole, strips, _ = _both_paths(tmp_path, _shapes(), 0.5, block_rows)
    assert len(whole) == 6
    assert strips == whole
    by_id = {row[1][0]: row[2] for row in whole}
    # The winding gap is one polygon; the diagonal gap is three parts.
    assert len(by_id[1]) == 1
    assert sorted(len(parts) for parts in by_id.values()) == [1, 1, 1, 1, 1, 3]
    # The ring keeps its hole.
    assert any(len(parts[0][1]) == 1 for parts in by_id.values())


@pytest.mark.parametrize("seed", [1, 2])
def test_random_gaps_give_the_whole_raster_features(tmp_path, grouping, seed, monkeypatch):
    from forestgaps_engine.geo import strip_parts

    # Split gaps merged 3 per query: the batches join up.
    monkeypatch.setattr(strip_parts, "MERGE_BATCH_GAPS", 3)
    whole, strips, _ = _both_paths(tmp_path, _random(seed), 1.0, block_rows=8)
    assert len(whole) > 10
    assert strips == whole


def test_the_merge_runs_only_for_gaps_split_by_a_strip_edge(tmp_path):
    *_, first_merged = _both_paths(tmp_path, _shapes(), min_area_m2=0.5)
    with sqlite3.connect(tmp_path / "parts.gpkg") as connection:
        merged_gaps = {
            gap for (gap,) in connection.execute(
                "SELECT gap FROM gap_of WHERE provisional >= ?", (first_merged,)
            )
        }
        plan = " ".join(
            str(row)
            for row in connection.execute(
                "EXPLAIN QUERY PLAN SELECT label, COUNT(*) FROM labelled GROUP BY label"
            )
        )
    # The winding gap (1), the ring (2), the step (4) and the pinch (6) have cells facing
    # across an edge; the island (3) and the diagonal gap (5) do not.
    assert merged_gaps == {1, 2, 4, 6}
    # The writer's grouping walks the gap index: no sort of every part.
    assert "TEMP B-TREE" not in plan.upper()


def test_predict_polygonizes_in_the_stream_the_features_of_the_ids_raster(
    tmp_path, monkeypatch
):
    from forestgaps_engine.config.inference import InferenceConfig
    from forestgaps_engine.geo import strip_parts
    from forestgaps_engine.inference import postprocess, predict
    from tests.inference.helpers import forest, pointwise_model, write_dsm

    # 9-row strips on a 200 px wide raster, polygonized two at a time: every gap of some
    # size crosses block edges.
    monkeypatch.setattr(postprocess, "STRIP_CELLS", 200 * 9)
    monkeypatch.setattr(strip_parts, "POLYGON_BLOCK_CELLS", 200 * 18)
    polygonized = {"strips": 0}
    add_strip = strip_parts.StripParts.add_strip

    def counted(self, *args):
        polygonized["strips"] += 1
        return add_strip(self, *args)

    monkeypatch.setattr(strip_parts.StripParts, "add_strip", counted)
    model = pointwise_model(tmp_path)
    values = forest(200, seed=3)
    values[20:180, 100:104] = 201.0  # one gap down 18 strips
    dsm = write_dsm(tmp_path / "dsm.tif", values)
    config = InferenceConfig(
        tile_size_px=64, overlap_px=16, batch_size=4, device="cpu", backend="torch"
    )
    features = {}
    for is_in_stream in (True, False):
        in_stream = config.model_copy(update={"polygons_in_stream": is_in_stream})
        result = predict(dsm, [2, 5], model, tmp_path / f"out_{is_in_stream}", in_stream)
        features[is_in_stream] = [layer_features(t.gaps_path) for t in result.thresholds]
        leftovers = [p.name for p in (tmp_path / f"out_{is_in_stream}").iterdir()]
        assert not [name for name in leftovers if name.startswith("forestgaps")]
    # 23 strips per threshold in 12 blocks, each polygonized once, by the stream only.
    assert polygonized["strips"] == 2 * 12
    assert features[True] == features[False]
    assert all(len(layer) > 3 for layer in features[True])

"""The pipelined stream with post-processing overlapped: the same files as the sequential path."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest
from scipy import ndimage

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import CancelledError
from forestgaps_engine.geo import strip_parts
from forestgaps_engine.inference import postprocess, predict
from forestgaps_engine.inference.backends import create_backend
from forestgaps_engine.inference.strip_labels import StripLabeller, label_strips
from forestgaps_engine.inference.windows import tile_rows
from tests.inference.helpers import CountingBackend, forest, pointwise_model, write_dsm
from tests.inference.polygon_equality import layer_features

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=4, device="cpu", backend="torch")
STAGES = {"read", "normalize", "model", "blend", "write", "label"}


def _forest_with_long_gaps() -> np.ndarray:
    """260 x 420 m of forest, nodata blocks and gaps crossing many strips and tile rows."""
    values = np.tile(forest(150, seed=2), (2, 3))[:260, :420]
    values[30:80, 50:300] = np.nan
    values[5:250, 330:336] = 201.0  # one gap down the raster: every strip edge
    values[100:140, 0:40] = 201.5  # on the left border, across a tile row edge
    values[255:260, 200:260] = 202.0  # on the bottom edge
    return values


def _outputs(result) -> dict[str, object]:
    """Raster bytes, the GeoPackage's features (its header holds a timestamp), figures."""
    outputs: dict[str, object] = {}
    for item in result.thresholds:
        for path in (item.probability_path, item.mask_path):
            outputs[path.name] = path.read_bytes()
        # The same features; a gap the stream's strip edges split has its vertices merged
        # back, starting elsewhere on its rings.
        outputs[item.gaps_path.name] = layer_features(item.gaps_path)
        plot = item.gaps_path.with_name(f"size_frequency_{item.gaps_path.stem[5:]}.png")
        outputs[plot.name] = plot.read_bytes()  # drawn on a pool thread when overlapped
        outputs[f"figures_{item.threshold_m:g}"] = (
            item.n_gaps,
            item.total_gap_area_m2,
            item.gap_fraction,
        )
    return outputs


@pytest.fixture
def small_strips(monkeypatch):
    """7-row labelling strips on a 420 px wide raster: 38 strips, many strip edges.

    The stream polygonizes them 14 rows at a time: 18 block edges split gaps.
    """
    monkeypatch.setattr(postprocess, "STRIP_CELLS", 420 * 7)
    monkeypatch.setattr(strip_parts, "POLYGON_BLOCK_CELLS", 420 * 14)


@pytest.mark.parametrize("update", [{}, {"cleanup_radius_px": 1}, {"blend": "linear"}])
def test_the_overlapped_path_writes_the_sequential_files(tmp_path, small_strips, update):
    model = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", _forest_with_long_gaps())
    outputs, summaries = {}, {}
    for is_overlapped in (False, True):
        config = SMALL.model_copy(update={**update, "overlap_postprocess": is_overlapped})
        out = tmp_path / f"overlap_{is_overlapped}"
        result = predict(dsm, [2, 5, 10], model, out, config)
        outputs[is_overlapped] = _outputs(result)
        summaries[is_overlapped] = result.summary
        assert sorted(p.name for p in out.iterdir() if p.name.startswith("forestgaps")) == []
    assert outputs[True].keys() == outputs[False].keys()
    for name, content in outputs[False].items():
        assert outputs[True][name] == content, name
    assert all(len(outputs[False][f"gaps_t{t}.gpkg"]) > 3 for t in (2, 5, 10))
    assert summaries[False]["profile"] is None
    profile = summaries[True]["profile"]
    # The cut is labelled in the stream only without cleanup (cleanup needs a halo).
    assert set(profile) == (STAGES if not update.get("cleanup_radius_px") else STAGES - {"label"})
    for name, step in profile.items():
        assert set(step) == {"busy_s", "wait_input_s", "wait_output_s", "n_items"}, name
        assert step["n_items"] > 0 and step["busy_s"] >= 0, name
    if "label" in profile:
        # One item per tile row: its finished rows over the full width.
        assert profile["label"]["n_items"] == len(tile_rows(260, 420, 64, 16))


def test_a_long_gap_crosses_strips_and_tile_rows_as_one_gap(tmp_path, small_strips):
    model = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", _forest_with_long_gaps())
    result = predict(dsm, [5], model, tmp_path / "out", SMALL)
    import rasterio

    with rasterio.open(result.thresholds[0].mask_path) as mask:
        is_gap = mask.read(1) == 1
    ids, _n = ndimage.label(is_gap, structure=np.ones((3, 3)))
    long_gap = ids[5:250, 333]
    assert (long_gap > 0).all() and len(set(long_gap.tolist())) == 1
    with sqlite3.connect(result.thresholds[0].gaps_path) as connection:
        areas = [row[0] for row in connection.execute("SELECT area_m2 FROM gaps")]
    assert max(areas) >= 245 * 6


def test_the_streamed_labeller_labels_rows_in_any_pieces_as_strips_read_back():
    rng = np.random.default_rng(5)
    is_gap = rng.random((203, 57)) < 0.45
    expected = label_strips(lambda off, n: is_gap[off : off + n], 203, 9, 1.0, 3.0, 40.0)
    labeller = StripLabeller(9)
    row = 0
    for size in [1, 13, 4, 64, 9, 17, 95]:
        labeller.add_rows(is_gap[row : row + size])
        row += size
    got = labeller.finish(1.0, 3.0, 40.0)
    assert got.height_px == expected.height_px == 203
    assert np.array_equal(got.offsets, expected.offsets)
    assert np.array_equal(got.final_ids, expected.final_ids)
    assert np.array_equal(got.cell_counts, expected.cell_counts)


class _FailingBackend(CountingBackend):
    def __init__(self, inner: object, fail_on_call: int) -> None:
        super().__init__(inner)
        self.fail_on_call = fail_on_call

    def run(self, *inputs: np.ndarray) -> np.ndarray:
        if len(self.calls) == self.fail_on_call:
            raise RuntimeError("simulated backend failure")
        return super().run(*inputs)


def test_a_failure_or_a_cancel_stops_every_step_and_leaves_nothing(tmp_path, tiny_model):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(300, seed=4))
    threads_before = threading.active_count()
    backend = _FailingBackend(create_backend(tiny_model, "torch", "cpu"), fail_on_call=3)
    out = tmp_path / "failed"
    with pytest.raises(Exception, match="simulated backend failure"):
        predict(dsm, [5, 10], tiny_model, out, SMALL, backend=backend)
    assert sorted(p.name for p in out.rglob("*")) == []
    # A cancel in the stream, and one while the gaps are written (polygons and plots on
    # pool threads).
    for name, trigger in [("stream", "predicting: tile row 2"), ("gaps", "gaps at 10")]:
        messages: list[str] = []
        out = tmp_path / f"cancelled_{name}"
        with pytest.raises(CancelledError):
            predict(
                dsm,
                [5, 10],
                tiny_model,
                out,
                SMALL,
                progress=lambda fraction, message, seen=messages: seen.append(message),
                cancel=lambda seen=messages, start=trigger: any(
                    m.startswith(start) for m in seen
                ),
            )
        assert sorted(p.name for p in out.rglob("*")) == [], name
    # No step keeps running after predict returns.
    assert threading.active_count() <= threads_before

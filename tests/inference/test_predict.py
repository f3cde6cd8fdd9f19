"""predict(): outputs on the input grid, one pass for all thresholds, seamless stitching."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict
from forestgaps_engine.inference.backends import TorchBackend
from tests.inference.helpers import ORIGIN, CountingBackend, forest, pointwise_model, write_dsm

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=6, device="cpu", backend="torch")


def _read(path: Path) -> tuple[np.ndarray, object]:
    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.profile


def test_outputs_lie_on_the_input_grid_with_the_right_types(tmp_path, tiny_model):
    values = forest(150)
    values[:10, :20] = np.nan
    dsm = write_dsm(tmp_path / "dsm.tif", values[:, :130])
    result = predict(dsm, [5, 2], tiny_model, tmp_path / "out", SMALL)
    assert [item.threshold_m for item in result.thresholds] == [2.0, 5.0]
    with rasterio.open(dsm) as source:
        crs, transform, shape = source.crs, source.transform, source.shape
    for item in result.thresholds:
        probability, profile = _read(item.probability_path)
        assert (profile["crs"], profile["transform"], probability.shape) == (crs, transform, shape)
        assert profile["dtype"] == "float32" and profile["nodata"] == -1
        assert np.all(probability[:10, :20] == -1)
        inside = probability[10:, 20:]
        assert inside.min() >= 0 and inside.max() <= 1
        mask, profile = _read(item.mask_path)
        assert profile["dtype"] == "uint8" and profile["nodata"] == 255
        assert profile["transform"] == transform and mask.shape == shape
        assert np.all(mask[:10, :20] == 255) and set(np.unique(mask[10:, 20:])) <= {0, 1}
        with sqlite3.connect(item.gaps_path) as db:
            count = db.execute("SELECT count(*) FROM gaps").fetchone()[0]
            columns = {row[1] for row in db.execute("PRAGMA table_info(gaps)")}
        assert count == item.n_gaps
        assert {"gap_id", "area_m2", "perimeter_m", "threshold_m", "dsm_mean_m"} <= columns
    summary = json.loads(result.summary_path.read_text())
    assert summary["model"]["model_id"] == tiny_model.card.model_id
    assert summary["backend"] == "torch" and summary["device"] == "cpu"
    assert {"model", "read", "postprocess", "total"} <= set(summary["timings_s"])
    assert summary["mpix_per_s"] > 0
    assert [t["threshold_m"] for t in summary["thresholds"]] == [2.0, 5.0]


def test_every_threshold_of_a_window_goes_in_the_same_model_call(tmp_path, tiny_model, monkeypatch):
    counting = CountingBackend(TorchBackend(tiny_model.model))
    monkeypatch.setattr(
        "forestgaps_engine.inference.backends.create_backend", lambda *args, **kwargs: counting
    )
    dsm = write_dsm(tmp_path / "dsm.tif", forest(120))
    result = predict(dsm, [2, 5, 10], tiny_model, tmp_path / "out", SMALL)
    n_tiles = result.summary["n_tiles"]
    assert n_tiles == 9  # 3 x 3 windows of 64 px over 120 px
    # batch_size 6 = 2 windows x 3 thresholds per call; batches never span tile rows
    assert len(counting.calls) == 6 == result.summary["n_model_calls"]
    # Each window goes once, with its 3 thresholds (the model takes K thresholds per window).
    assert counting.shares_windows
    for shape, thresholds in counting.calls:
        assert 3 * shape[0] == len(thresholds)
        assert thresholds == [2.0, 5.0, 10.0] * shape[0]
    assert sum(shape[0] for shape, _ in counting.calls) == n_tiles


def test_shared_windows_give_the_probabilities_of_repeated_windows(tmp_path, tiny_model):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(120))
    shared = TorchBackend(tiny_model.model)
    repeated = TorchBackend(tiny_model.model)
    repeated.shares_windows = False
    assert shared.shares_windows
    outputs = []
    for name, backend in (("shared", shared), ("repeated", repeated)):
        result = predict(dsm, [2, 5, 10], tiny_model, tmp_path / name, SMALL, backend=backend)
        outputs.append([_read(item.probability_path)[0] for item in result.thresholds])
    for a, b in zip(*outputs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_shifted_crop_gives_the_same_probabilities(tmp_path):
    loaded = pointwise_model(tmp_path)
    values = forest(200, seed=3)
    full = write_dsm(tmp_path / "full.tif", values)
    shift_rows, shift_cols = 5, 7
    crop = write_dsm(
        tmp_path / "crop.tif",
        values[shift_rows:, shift_cols:],
        origin=(ORIGIN[0] + shift_cols, ORIGIN[1] - shift_rows),
    )
    config = SMALL.model_copy(update={"min_gap_area_m2": 0.0})
    a = predict(full, [5], loaded, tmp_path / "a", config).thresholds[0]
    b = predict(crop, [5], loaded, tmp_path / "b", config).thresholds[0]
    prob_a, _ = _read(a.probability_path)
    prob_b, _ = _read(b.probability_path)
    assert np.abs(prob_a[shift_rows:, shift_cols:] - prob_b).max() < 1e-4
    assert 0 < a.n_gaps


def test_flat_region_has_no_seam_lines(tmp_path):
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "flat.tif", np.full((150, 170), 203.0))
    for blend in ("hann", "linear", "none"):
        config = SMALL.model_copy(update={"blend": blend})
        item = predict(dsm, [5], loaded, tmp_path / blend, config).thresholds[0]
        probability, _ = _read(item.probability_path)
        assert np.ptp(probability) < 1e-5


def test_coarser_dsm_is_resampled_to_the_model_and_back(tmp_path, tiny_model):
    dsm = write_dsm(tmp_path / "dsm2m.tif", forest(80), resolution_m=2.0)
    result = predict(dsm, [5], tiny_model, tmp_path / "out", SMALL)
    with rasterio.open(dsm) as source:
        expected = (source.crs, source.transform, source.shape)
    for path in (result.thresholds[0].probability_path, result.thresholds[0].mask_path):
        data, profile = _read(path)
        assert (profile["crs"], profile["transform"], data.shape) == expected
    assert result.summary["working_grid"]["resolution_m"] == [1.0, 1.0]
    assert result.summary["working_grid"]["width_px"] == 160
    assert not list((tmp_path / "out").glob(".forestgaps-*"))


def test_max_area_drops_large_gaps_from_every_output(tmp_path):
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", forest(160, seed=3))
    config = SMALL.model_copy(update={"min_gap_area_m2": 0.0})
    unbounded = predict(dsm, [5], loaded, tmp_path / "all", config).thresholds[0]
    with sqlite3.connect(unbounded.gaps_path) as db:
        areas = sorted(row[0] for row in db.execute("SELECT area_m2 FROM gaps"))
    bound_m2 = areas[len(areas) // 2]

    bounded_config = config.model_copy(update={"max_gap_area_m2": bound_m2})
    bounded = predict(dsm, [5], loaded, tmp_path / "bounded", bounded_config).thresholds[0]

    with sqlite3.connect(bounded.gaps_path) as db:
        kept = [row[0] for row in db.execute("SELECT area_m2 FROM gaps")]
    assert len(areas) > 2 and kept and max(kept) <= bound_m2
    assert bounded.n_gaps == len(kept) == sum(area <= bound_m2 for area in areas)
    mask_all, _ = _read(unbounded.mask_path)
    mask_bounded, _ = _read(bounded.mask_path)
    assert (mask_bounded == 1).sum() < (mask_all == 1).sum()


def test_the_cut_taken_while_streaming_equals_the_cut_of_the_written_probabilities(tmp_path):
    """predict cuts the probabilities as it writes them; reading them back gives the same gaps."""
    from forestgaps_engine.geo.raster_io import grid_of, open_single_band
    from forestgaps_engine.inference.postprocess import label_gap_rasters

    # Half of this pointwise model's probabilities lie above it: a cut taken at any other
    # cut-off (say the default 0.5) would differ.
    CUTOFF = 0.005  # noqa: N806
    values = forest(170, seed=5)
    values[40:60, 100:130] = np.nan
    dsm = write_dsm(tmp_path / "dsm.tif", values)
    config = SMALL.model_copy(update={"probability_cutoff": CUTOFF, "min_gap_area_m2": 2.0})
    result = predict(dsm, [2, 5], pointwise_model(tmp_path), tmp_path / "out", config)
    assert not list((tmp_path / "out").glob(".forestgaps-*")), "temporaries are removed"

    for item in result.thresholds:
        work_dir = tmp_path / f"reread_{item.threshold_m:g}"
        work_dir.mkdir()
        with open_single_band(item.probability_path) as probability:
            gaps = label_gap_rasters(
                probability, grid_of(probability), CUTOFF, 2.0, work_dir, 0, None
            )
        with rasterio.open(gaps.ids_path) as ids:
            reread = ids.read(1)
        mask, _ = _read(item.mask_path)
        assert item.n_gaps == gaps.n_gaps > 0
        with rasterio.open(item.probability_path) as probability:
            cells = probability.read(1, masked=True).compressed()
        assert 0.1 < (cells >= CUTOFF).mean() < 0.9, "probabilities on both sides of the cut"
        np.testing.assert_array_equal(mask == 1, reread > 0)
        np.testing.assert_array_equal(mask == 255, reread == -1)

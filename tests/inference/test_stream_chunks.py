"""The streaming pass in column chunks writes the same files as in full-width tile rows."""

from __future__ import annotations

import numpy as np
import rasterio

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.inference import predict, predictor
from tests.inference.helpers import forest, write_dsm

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=4, device="cpu", backend="torch")


def _predict_files(tmp_path, name, dsm, model, chunk_px, monkeypatch) -> dict[str, bytes]:
    monkeypatch.setattr(predictor, "COLUMN_CHUNK_PX", chunk_px)
    result = predict(dsm, [2, 5, 10], model, tmp_path / name, SMALL)
    paths = [item.probability_path for item in result.thresholds]
    paths += [item.mask_path for item in result.thresholds]
    summary = {key: value for key, value in result.summary.items() if key != "timings_s"}
    summary.pop("mpix_per_s")
    summary.pop("profile")  # seconds, and items per step that depend on the chunks
    summary.pop("predict_mpix_per_s")
    summary.pop("dsm")
    return {"summary": repr(summary).replace(name, "x"), **{p.name: p.read_bytes() for p in paths}}


def test_column_chunks_write_byte_identical_outputs(tmp_path, tiny_model, monkeypatch):
    # Not a multiple of the 256 px output blocks either way, with nodata inside.
    values = np.tile(forest(150, seed=4), (2, 5))[:290, :700]
    values[40:90, 100:400] = np.nan
    dsm = write_dsm(tmp_path / "dsm.tif", values)
    whole = _predict_files(tmp_path, "whole", dsm, tiny_model, 10**9, monkeypatch)
    for chunk_px in (1, 150, 300):
        chunked = _predict_files(tmp_path, f"c{chunk_px}", dsm, tiny_model, chunk_px, monkeypatch)
        assert chunked.keys() == whole.keys()
        for key, content in whole.items():
            assert chunked[key] == content, (chunk_px, key)


def test_a_nodata_first_tile_row_gives_nodata_rows(tmp_path, tiny_model):
    # Full-width nodata over the first tile row: no tile of it runs the model.
    values = forest(200, seed=5)
    values[:100] = np.nan
    dsm = write_dsm(tmp_path / "dsm.tif", values)
    result = predict(dsm, [5], tiny_model, tmp_path / "out", SMALL).thresholds[0]
    with rasterio.open(result.probability_path) as dataset:
        probability = dataset.read(1)
    with rasterio.open(result.mask_path) as dataset:
        mask = dataset.read(1)
    assert (probability[:100] == -1).all() and (mask[:100] == 255).all()
    assert ((probability[100:] >= 0) & (probability[100:] <= 1)).all()
    assert (mask[100:] != 255).all()

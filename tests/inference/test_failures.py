"""Bad inputs, cancel and write failures: a clear ForestGapsError and no file left behind."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import (
    CancelledError,
    ConfigError,
    DataError,
    EmptyRasterError,
    InferenceError,
    InvalidDataFormatError,
    ModelError,
)
from forestgaps_engine.files import DiskFullError
from forestgaps_engine.geo import raster_io
from forestgaps_engine.inference import predict
from tests.inference.helpers import forest, pointwise_model, write_dsm

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=3, device="cpu", backend="torch")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_cancel_after_the_first_batch_removes_every_output(tmp_path):
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", forest(150))
    messages: list[str] = []
    with pytest.raises(CancelledError):
        predict(
            dsm,
            [2, 5],
            loaded,
            tmp_path / "out",
            SMALL,
            progress=lambda fraction, message: messages.append(message),
            cancel=lambda: any(m.startswith("predicting: tile") for m in messages),
        )
    assert _leftovers(tmp_path / "out") == []


def test_cancel_during_postprocessing_removes_finished_files(tmp_path):
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", forest(100))
    messages: list[str] = []
    with pytest.raises(CancelledError):
        predict(
            dsm,
            [2, 5],
            loaded,
            tmp_path / "out",
            SMALL,
            progress=lambda fraction, message: messages.append(message),
            cancel=lambda: "gaps at 5 m" in messages,
        )
    assert _leftovers(tmp_path / "out") == []


def test_bad_inputs_raise_clear_errors(tmp_path, tiny_model_dir):
    loaded = pointwise_model(tmp_path)
    good = write_dsm(tmp_path / "dsm.tif", forest(64))
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    with pytest.raises(InvalidDataFormatError, match="junk.tif"):
        predict(junk, [5], loaded, tmp_path / "o1", SMALL)
    empty = write_dsm(tmp_path / "empty.tif", np.full((70, 70), np.nan))
    with pytest.raises(EmptyRasterError, match="empty.tif"):
        predict(empty, [5], loaded, tmp_path / "o2", SMALL)
    assert _leftovers(tmp_path / "o2") == []
    with pytest.raises(ModelError, match="not a model file"):
        predict(good, [5], junk, tmp_path / "o3", SMALL)
    for threshold in (0, -2, float("nan")):
        with pytest.raises(ConfigError, match="not a positive height"):
            predict(good, [threshold], loaded, tmp_path / "o4", SMALL)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot be created"):
        predict(good, [5], loaded, blocker / "out", SMALL)


def test_a_write_failing_half_way_leaves_nothing(tmp_path, monkeypatch):
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", forest(150))
    real_open = raster_io.open_raster_for_writing
    writes = {"count": 0}

    class FailingWriter:
        def __init__(self, dataset):
            self.dataset = dataset

        def write(self, *args, **kwargs):
            writes["count"] += 1
            if writes["count"] > 3:
                raise OSError(28, "No space left on device")
            return self.dataset.write(*args, **kwargs)

    @contextmanager
    def failing_open(target, grid, profile):
        with real_open(target, grid, profile) as dataset:
            yield FailingWriter(dataset)

    monkeypatch.setattr("forestgaps_engine.inference.api.open_raster_for_writing", failing_open)
    with pytest.raises(DiskFullError, match=r"out: no space left to write") as caught:
        predict(dsm, [2, 5], loaded, tmp_path / "out", SMALL)
    assert "Free space in" in caught.value.hint
    assert writes["count"] == 4
    assert _leftovers(tmp_path / "out") == []


def test_a_gap_too_large_to_polygonize_in_memory_is_refused_and_leaves_nothing(
    tmp_path, monkeypatch
):
    # 1 kB of memory is never enough for a gap's polygon: refused before GDAL starts,
    # as a gap spanning a 16384² raster (+4.7 GB in GDAL 3.6's polygonizer) would be.
    monkeypatch.setattr("forestgaps_engine.machine.available_memory_bytes", lambda: 1000)
    loaded = pointwise_model(tmp_path)
    dsm = write_dsm(tmp_path / "dsm.tif", forest(150))
    with pytest.raises(InferenceError, match="polygonizing it needs about") as caught:
        predict(dsm, [5], loaded, tmp_path / "out", SMALL)
    assert "GB are available" in str(caught.value) and str(caught.value).startswith("gap ")
    assert "--max-area" in caught.value.hint
    assert _leftovers(tmp_path / "out") == []
    # With the memory there, the same run completes.
    monkeypatch.setattr("forestgaps_engine.machine.available_memory_bytes", lambda: 2**40)
    result = predict(dsm, [5], loaded, tmp_path / "out", SMALL)
    assert result.thresholds[0].n_gaps > 0

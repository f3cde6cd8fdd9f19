"""The model on a worker thread, one batch ahead: same files, same calls, errors and cancel."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from forestgaps_engine.config.inference import InferenceConfig
from forestgaps_engine.errors import CancelledError
from forestgaps_engine.inference import predict
from forestgaps_engine.inference.backends import create_backend
from tests.inference.helpers import CountingBackend, forest, pointwise_model, write_dsm

SMALL = InferenceConfig(tile_size_px=64, overlap_px=16, batch_size=4, device="cpu", backend="torch")


class ThreadRecordingBackend(CountingBackend):
    """Records the calls and the thread each ran on; can fail or block on a given call."""

    def __init__(self, inner: object, fail_on_call: int | None = None) -> None:
        super().__init__(inner)
        self.threads: list[str] = []
        self.fail_on_call = fail_on_call
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0

    def run(self, dsm_norm: np.ndarray, thresholds_m: np.ndarray) -> np.ndarray:
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            self.threads.append(threading.current_thread().name)
            if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
                raise RuntimeError("simulated backend failure")
            return super().run(dsm_norm, thresholds_m)
        finally:
            with self.lock:
                self.running -= 1


def _outputs(result) -> dict[str, object]:
    """Raster bytes, and the GeoPackage's feature rows (its header holds a timestamp)."""
    paths = [item.probability_path for item in result.thresholds]
    paths += [item.mask_path for item in result.thresholds]
    outputs: dict[str, object] = {path.name: path.read_bytes() for path in paths}
    for item in result.thresholds:
        with sqlite3.connect(item.gaps_path) as connection:
            (layer,) = connection.execute("SELECT table_name FROM gpkg_contents").fetchone()
            outputs[item.gaps_path.name] = connection.execute(
                f'SELECT * FROM "{layer}" ORDER BY fid'
            ).fetchall()
    return outputs


def test_the_model_thread_writes_the_same_files_with_the_same_calls(tmp_path):
    # The per-pixel model finds gaps at every threshold: the polygons are compared too.
    model = pointwise_model(tmp_path)
    values = np.tile(forest(150, seed=2), (2, 3))[:260, :420]
    values[30:80, 50:300] = np.nan
    dsm = write_dsm(tmp_path / "dsm.tif", values)
    outputs, calls = {}, {}
    for model_thread in (False, True):
        backend = ThreadRecordingBackend(create_backend(model, "torch", "cpu"))
        config = SMALL.model_copy(update={"model_thread": model_thread})
        out = tmp_path / f"thread_{model_thread}"
        result = predict(dsm, [2, 5, 10], model, out, config, backend=backend)
        outputs[model_thread] = _outputs(result)
        calls[model_thread] = backend.calls
        worker_calls = [name for name in backend.threads if name.startswith("forestgaps-model")]
        # Every call on the worker when it is on, none when it is off; never two at once.
        assert len(worker_calls) == (len(backend.threads) if model_thread else 0)
        assert backend.most_running == 1
        assert result.summary["n_model_calls"] == len(backend.calls) > 3
        # The stream's wall time, which the per-step timings may overlap.
        timings = result.summary["timings_s"]
        assert 0 < timings["stream"] <= timings["total"]
        stream_mpix_per_s = 260 * 420 / 1e6 / timings["stream"]
        assert result.summary["predict_mpix_per_s"] == pytest.approx(stream_mpix_per_s, rel=0.01)
    assert calls[True] == calls[False]
    assert outputs[True].keys() == outputs[False].keys()
    assert all(len(outputs[False][f"gaps_t{t}.gpkg"]) > 0 for t in (2, 5, 10))
    for name, content in outputs[False].items():
        assert outputs[True][name] == content, name


def test_a_backend_failure_on_the_worker_reaches_the_caller_and_leaves_nothing(
    tmp_path, tiny_model
):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(200, seed=3))
    backend = ThreadRecordingBackend(create_backend(tiny_model, "torch", "cpu"), fail_on_call=2)
    out = tmp_path / "out"
    with pytest.raises(Exception, match="simulated backend failure"):
        predict(dsm, [5], tiny_model, out, SMALL, backend=backend)
    assert sorted(p.name for p in out.rglob("*")) == []


def test_a_cancel_stops_with_at_most_the_batch_in_flight(tmp_path, tiny_model):
    dsm = write_dsm(tmp_path / "dsm.tif", forest(300, seed=4))
    backend = ThreadRecordingBackend(create_backend(tiny_model, "torch", "cpu"))
    messages: list[str] = []
    out = tmp_path / "out"
    with pytest.raises(CancelledError):
        predict(
            dsm,
            [5],
            tiny_model,
            out,
            # The sequential stream's one batch in flight (the pipelined one: test_overlap).
            SMALL.model_copy(update={"overlap_postprocess": False}),
            progress=lambda fraction, message: messages.append(message),
            cancel=lambda: any(m.startswith("predicting: tile") for m in messages),
            backend=backend,
        )
    # The first batch is finished when the cancel is seen; the second was in flight.
    assert len(backend.calls) == 2
    assert sorted(p.name for p in out.rglob("*")) == []

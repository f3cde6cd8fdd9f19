"""The torch_compile backend: few compiled shapes per run, eager fallback, same outputs.

A stand-in for ``torch.compile`` records every shape the compiled callable sees, so the
padding logic is checked without paying for a real compilation (the real one is checked
end to end in ``test_backends.py``).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from forestgaps_engine.inference.backends import TorchBackend, TorchCompileBackend


class RecordingCompiler:
    """``torch.compile`` stand-in: runs the model eagerly and records the input shapes."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.shapes: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        self.fail_on_call = fail_on_call

    def __call__(self, model: torch.nn.Module, **options: object):
        def compiled(dsm: torch.Tensor, threshold_m: torch.Tensor) -> torch.Tensor:
            self.shapes.append((tuple(dsm.shape), tuple(threshold_m.shape)))
            if self.fail_on_call == len(self.shapes):
                raise OSError("C++ compiler crashed")
            assert torch.is_inference_mode_enabled()
            return model(dsm, threshold_m)

        return compiled


@pytest.fixture
def compiler(monkeypatch) -> RecordingCompiler:
    recorder = RecordingCompiler()
    monkeypatch.setattr(torch, "compile", recorder)
    monkeypatch.setattr(
        "forestgaps_engine.models.compile.compile_unsupported_reason", lambda model: None
    )
    return recorder


def _windows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, (n, 1, 32, 32)).astype(np.float32)


def test_batches_reach_the_compiled_graph_and_single_windows_are_padded(tiny_model, compiler):
    backend = TorchCompileBackend(tiny_model.model)
    eager = TorchBackend(tiny_model.model)
    assert backend.name == "torch_compile"
    # Probed on the eager model: nothing was compiled for the probe's shapes.
    assert backend.shares_windows and compiler.shapes == []
    thresholds = np.array([2.0, 5.0, 10.0], dtype=np.float32)
    for n_windows in (4, 3, 1, 4):
        dsm = _windows(n_windows, seed=n_windows)
        shared = np.tile(thresholds, n_windows)
        probabilities = backend.run(dsm, shared)
        assert probabilities.shape == (3 * n_windows, 1, 32, 32)
        np.testing.assert_allclose(probabilities, eager.run(dsm, shared), atol=1e-6)
    # Sizes 4 and 3 make one dynamic batch dimension; 1 would be specialized: sent as 2.
    assert [shape[0][0] for shape in compiler.shapes] == [4, 3, 2, 4]
    assert [shape[1][0] for shape in compiler.shapes] == [12, 9, 6, 12]


def test_a_failing_first_call_runs_eagerly_and_says_so(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr(torch, "compile", RecordingCompiler(fail_on_call=1))
    monkeypatch.setattr(
        "forestgaps_engine.models.compile.compile_unsupported_reason", lambda model: None
    )
    backend = TorchCompileBackend(tiny_model.model)
    dsm, thresholds = _windows(2), np.array([5.0, 5.0], dtype=np.float32)
    with caplog.at_level(logging.WARNING):
        probabilities = backend.run(dsm, thresholds)
    assert "C++ compiler crashed" in caplog.text
    assert backend.name == "torch"
    expected = TorchBackend(tiny_model.model).run(dsm, thresholds)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)


def test_a_compile_failure_on_a_later_batch_size_also_runs_eagerly(tiny_model, monkeypatch):
    monkeypatch.setattr(torch, "compile", RecordingCompiler(fail_on_call=2))
    monkeypatch.setattr(
        "forestgaps_engine.models.compile.compile_unsupported_reason", lambda model: None
    )
    backend = TorchCompileBackend(tiny_model.model)
    backend.run(_windows(4), np.full(4, 5.0, dtype=np.float32))
    assert backend.name == "torch_compile"
    dsm, thresholds = _windows(1), np.array([5.0], dtype=np.float32)
    probabilities = backend.run(dsm, thresholds)
    assert backend.name == "torch" and probabilities.shape == (1, 1, 32, 32)
    expected = TorchBackend(tiny_model.model).run(dsm, thresholds)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)


def test_an_error_of_the_model_itself_is_raised(tiny_model, compiler):
    backend = TorchCompileBackend(tiny_model.model)
    # 3 thresholds for 2 windows: the model refuses it, compiled or not.
    with pytest.raises(Exception, match="threshold"):
        backend.run(_windows(2), np.full(3, 5.0, dtype=np.float32))


def test_where_compile_cannot_work_it_runs_eagerly(tiny_model, monkeypatch, caplog):
    monkeypatch.setattr("sys.platform", "win32")
    with caplog.at_level(logging.WARNING):
        backend = TorchCompileBackend(tiny_model.model)
    assert backend.name == "torch" and "Windows" in caplog.text
    dsm, thresholds = _windows(1), np.array([5.0], dtype=np.float32)
    expected = TorchBackend(tiny_model.model).run(dsm, thresholds)
    np.testing.assert_allclose(backend.run(dsm, thresholds), expected, atol=1e-6)

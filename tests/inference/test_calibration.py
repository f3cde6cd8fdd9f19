"""``--backend auto``: fastest agreeing backend, bf16-like disagreement refused, cache reused."""

from __future__ import annotations

import json
import time

import numpy as np

from forestgaps_engine.inference import calibration
from forestgaps_engine.inference.backends import TorchBackend
from forestgaps_engine.inference.calibration import (
    CACHE_FILE,
    calibrate,
    calibration_tiles,
    choose_backend,
)
from forestgaps_engine.inference.model_source import as_inference_model
from forestgaps_engine.inference.normalize import NumpyNormalizer


class FakeBackend:
    """Probabilities from the normalized heights; optionally slow or flipped."""

    takes_raw_heights = False
    device = "cpu"

    def __init__(self, name: str, delay_s: float = 0.0, flip: float = 0.0) -> None:
        self.name = name
        self.delay_s = delay_s
        self.flip = flip

    def run(self, dsm, thresholds_m, valid=None):
        time.sleep(self.delay_s)
        probabilities = 1.0 / (1.0 + np.exp(dsm * 4.0 - 0.3))
        if self.flip:
            # Disagree on a band of cells, like a low-precision backend near the cut-off.
            rows = int(dsm.shape[2] * self.flip)
            probabilities[:, :, :rows] = 1.0 - probabilities[:, :, :rows]
        return probabilities.astype(np.float32)


def _factories(**backends):
    return {name: (lambda b=backend: b) for name, backend in backends.items()}


def test_fastest_agreeing_backend_wins_and_disagreeing_one_is_refused():
    tiles = calibration_tiles(2, 48)
    normalizer = NumpyNormalizer(relief_range_m=10.0)
    result = calibrate(
        _factories(
            reference=FakeBackend("reference", delay_s=0.03),
            fast=FakeBackend("fast", delay_s=0.005),
            fastest_but_wrong=FakeBackend("fastest_but_wrong", flip=0.2),
        ),
        "reference",
        normalizer,
        [5.0, 10.0],
        tiles=tiles,
    )
    figures = result["backends"]
    assert figures["reference"]["gap_iou_loss"] == 0.0
    assert figures["fast"]["agrees"] and figures["fast"]["gap_iou_loss"] == 0.0
    assert not figures["fastest_but_wrong"]["agrees"]
    assert figures["fastest_but_wrong"]["gap_iou_loss"] > calibration.MAX_IOU_LOSS
    assert figures["fastest_but_wrong"]["mpix_per_s"] > figures["fast"]["mpix_per_s"]
    assert result["chosen"] == "fast"


def test_a_backend_that_fails_to_build_is_recorded_not_chosen():
    def broken():
        raise RuntimeError("no such runtime")

    result = calibrate(
        {"reference": lambda: FakeBackend("reference"), "broken": broken},
        "reference",
        NumpyNormalizer(relief_range_m=10.0),
        [5.0],
        tiles=calibration_tiles(1, 32),
    )
    assert "no such runtime" in result["backends"]["broken"]["error"]
    assert result["chosen"] == "reference"


def test_choice_is_cached_per_model_and_reused(tmp_path, tiny_model, monkeypatch):
    model = as_inference_model(tiny_model)
    built = []
    backends = {
        "torch": TorchBackend(tiny_model.model),
        "fast": FakeBackend("fast"),
    }

    def build(name, model, device, cache_dir=None):
        built.append(name)
        return backends[name]

    monkeypatch.setattr(calibration, "available_backends", lambda model, device: ["torch", "fast"])
    monkeypatch.setattr(calibration, "build_backend", build)
    figures: dict = {}
    first = choose_backend(model, "cpu", tmp_path, figures)
    assert figures["cached"] is False and figures["reference"] == "torch"
    # FakeBackend is a different function of its input: it must not agree with the model.
    assert first is backends["torch"] and not figures["backends"]["fast"]["agrees"]
    cache = json.loads((tmp_path / CACHE_FILE).read_text())
    (key,) = cache
    assert tiny_model.card.model_id in key and cache[key]["chosen"] == "torch"
    built.clear()
    again: dict = {}
    second = choose_backend(model, "cpu", tmp_path, again)
    assert second is backends["torch"] and again["cached"] is True
    assert built == ["torch"]  # no calibration run: only the chosen backend was built

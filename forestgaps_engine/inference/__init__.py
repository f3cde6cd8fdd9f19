"""Tiled, streaming prediction of gap maps from a DSM: ``predict(...)``."""

from forestgaps_engine.inference.api import PredictionResult, ThresholdResult, predict

__all__ = ["PredictionResult", "ThresholdResult", "predict"]

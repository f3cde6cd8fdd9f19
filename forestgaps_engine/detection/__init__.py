"""One detection, whichever face asks: :func:`detect` decides the route and runs it."""

from forestgaps_engine.detection.api import detect, in_extent_words
from forestgaps_engine.detection.chm import write_chm
from forestgaps_engine.detection.extent import ExtentOutsideError
from forestgaps_engine.detection.remote import HttpAnswer, RemoteServer, Transport, Unreachable
from forestgaps_engine.detection.result import DetectionResult, Method, Route, ThresholdOutputs
from forestgaps_engine.detection.routes import model_is_available

__all__ = [
    "DetectionResult",
    "ExtentOutsideError",
    "HttpAnswer",
    "Method",
    "RemoteServer",
    "Route",
    "ThresholdOutputs",
    "Transport",
    "Unreachable",
    "detect",
    "in_extent_words",
    "model_is_available",
    "write_chm",
]

"""The REST inference service (``forestgaps serve``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forestgaps_engine.config.base import StrictModel


class ServeConfig(StrictModel):
    """Where the service listens, which model it serves and what it accepts.

    Attributes:
        host: interface to bind; loopback by default, ``0.0.0.0`` in a container.
        port: TCP port.
        model: model folder, or ``default`` (the bundled one; the service starts without a
            model when it is not installed and answers ``/predict`` with 503).
        workers: server processes, each loading its own copy of the model.
        max_upload_mb: largest accepted request body, MiB (413 beyond).
        max_input_mpix: largest accepted raster, megapixels (413 beyond).
        max_thresholds: most thresholds in one request.
        max_concurrent_predictions: predictions run at once per process; the shared model
            is not guaranteed thread-safe, so 1 unless the backend is known to be.
        queue_timeout_s: how long a request waits for a free prediction slot before 503.
        result_ttl_s: how long downloadable results are kept.
        geojson_crs: polygons in WGS 84 (RFC 7946) or in the input CRS.
        temp_dir: parent of the service's private working folder; None = system temp.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    model: str = "default"
    workers: int = Field(default=1, ge=1, le=64)
    max_upload_mb: float = Field(default=200.0, gt=0.0, le=100_000.0)
    max_input_mpix: float = Field(default=100.0, gt=0.0)
    max_thresholds: int = Field(default=10, ge=1, le=100)
    max_concurrent_predictions: int = Field(default=1, ge=1, le=64)
    queue_timeout_s: float = Field(default=300.0, gt=0.0)
    result_ttl_s: float = Field(default=600.0, gt=0.0)
    geojson_crs: Literal["wgs84", "input"] = "wgs84"
    temp_dir: str | None = None

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
        max_input_mpix: largest grid a request may need, megapixels: the uploaded raster's
            and the one the model runs on after resampling (413 beyond).
        max_thresholds: most thresholds in one request.
        max_concurrent_predictions: predictions run at once per process; the shared model
            is not guaranteed thread-safe, so 1 unless the backend is known to be.
        queue_timeout_s: how long a request waits for a free prediction slot before 503.
        result_ttl_s: how long downloadable results are kept.
        max_results_mb: disk the finished results of all jobs may take together, MiB; past
            it the oldest finished results are deleted first (the newest is always kept).
        geojson_crs: polygons in WGS 84 (RFC 7946) or in the input CRS.
        temp_dir: parent of the service's private working folder; None = system temp.
        token: bearer token every request but ``GET /health`` must carry; None reads
            ``FORESTGAPS_TOKEN``. Required to listen beyond loopback.
        allowed_hosts: host names accepted in ``Host`` and ``Origin`` besides loopback
            ones (and the bound address), with those of ``FORESTGAPS_ALLOWED_HOSTS``;
            ``*`` accepts any.
        small_request_mpix: requests whose model grid has at most this many megapixels
            may use a slot of their own, so they are not queued behind a large one; 0 off.
        max_gaps_per_threshold: most gaps one threshold's grid could hold (a bound from
            its size and min_gap_area_m2, checked before work; the engine's polygon
            writer peaks at about 450 bytes a gap).
        max_prediction_s: a prediction still running after this long is stopped (503);
            the engine checks between batches and between thresholds.
        shutdown_timeout_s: on SIGTERM, how long running requests may finish before
            their jobs are cancelled (abandoned ones are cancelled at once).
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
    max_results_mb: float = Field(default=2048.0, gt=0.0)
    geojson_crs: Literal["wgs84", "input"] = "wgs84"
    temp_dir: str | None = None
    token: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    small_request_mpix: float = Field(default=1.0, ge=0.0)
    max_gaps_per_threshold: int = Field(default=2_000_000, ge=1)
    max_prediction_s: float = Field(default=1800.0, gt=0.0)
    shutdown_timeout_s: float = Field(default=30.0, gt=0.0)

"""Prometheus metrics of one service instance (its own registry, so apps never collide)."""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class ServiceMetrics:
    """Request counts by endpoint and status, latency, and inference volume.

    Endpoints are route templates (``/results/{job_id}/{name}``), never raw URLs, so a
    client cannot grow the label set; unknown URLs count as ``other``.
    """

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "forestgaps_requests",
            "HTTP requests by endpoint, method and status",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency_s = Histogram(
            "forestgaps_request_duration_seconds",
            "HTTP request latency by endpoint",
            ("endpoint",),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.inference_mpix = Counter(
            "forestgaps_inference_mpix",
            "Input megapixels predicted (per request, all thresholds together)",
            registry=self.registry,
        )
        self.predictions = Counter(
            "forestgaps_predictions",
            "Finished predictions by outcome",
            ("outcome",),
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "forestgaps_predictions_in_progress",
            "Predictions running now",
            registry=self.registry,
        )
        self.waiting = Gauge(
            "forestgaps_predictions_waiting",
            "Predictions waiting for a free slot",
            registry=self.registry,
        )

    def observe_request(self, scope: dict[str, Any], status: int, duration_s: float) -> None:
        """Count one finished request under its matched route template, or ``other``."""
        endpoint = getattr(scope.get("route"), "path", None) or "other"
        self.requests.labels(endpoint, scope["method"], str(status)).inc()
        self.latency_s.labels(endpoint).observe(duration_s)

    def render(self) -> tuple[bytes, str]:
        """(body, content type) of the Prometheus text exposition."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

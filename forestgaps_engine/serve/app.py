"""The FastAPI app of ``forestgaps serve``: a thin HTTP face over the engine.

It serves ``predict`` and ``augment_preview``.

Endpoints: ``POST /predict``, ``POST /augment``, ``GET /results/{job_id}/{name}``,
``GET /health``, ``GET /models``, ``GET /metrics``. Importing this module needs the
``serve`` extra (FastAPI resolves endpoint annotations from module globals). Every error is JSON
``{"error": ..., "hint": ...}``; no answer names a server path and no request can name
one (uploads and opaque result ids only). Every request passes ``security.RequestGuard``
(Host, Origin, token) first; a prediction's costs are bounded before it starts
(``limits``) and it stops when its client leaves (``disconnect``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.errors import CancelledError, ConfigError, ForestGapsError
from forestgaps_engine.serve.disconnect import run_until_disconnected
from forestgaps_engine.serve.errors import (
    Scrubber,
    ServiceError,
    from_engine_error,
    internal_error,
)
from forestgaps_engine.serve.geojson import make_geojson
from forestgaps_engine.serve.metrics import ServiceMetrics
from forestgaps_engine.serve.prediction import (
    INFERENCE_FIELDS,
    PredictRequest,
    check_preview_upload,
    check_upload,
    parse_predict_fields,
    run_prediction,
)
from forestgaps_engine.serve.results import MEDIA_TYPES
from forestgaps_engine.serve.security import (
    HostPolicy,
    RequestGuard,
    allowed_hosts_from_env,
    resolve_token,
)
from forestgaps_engine.serve.state import NO_MODEL_HINT, ServiceState
from forestgaps_engine.serve.uploads import (
    UploadedFile,
    UploadedForm,
    receive_form,
    refuse_unknown_fields,
)
from forestgaps_engine.version import __version__


def _form_schema(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a multipart form (the body is parsed by hand, streamed)."""
    properties = {"file": {"type": "string", "format": "binary"}, **fields}
    schema = {"type": "object", "properties": properties, "required": ["file"]}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


PREDICT_FORM = _form_schema(
    {
        "thresholds": {"type": "string", "example": "5,10", "description": "metres"},
        **{name: {"type": "integer" if name.endswith("_px") else "number"}
           for name in INFERENCE_FIELDS},  # fmt: skip
        "geojson_crs": {"type": "string", "enum": ["wgs84", "input"]},
    }
)
AUGMENT_LIMITS = {
    "n_samples": (1, 16, 8),
    "seed": (0, 2**31 - 1, 0),
    "tile_size_px": (16, 512, 256),
}
AUGMENT_FORM = _form_schema(
    {
        name: {"type": "integer", "minimum": low, "maximum": high, "default": default}
        for name, (low, high, default) in AUGMENT_LIMITS.items()
    }
)


class MetricsMiddleware:
    """Counts every HTTP request by route template and status, with its latency."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI entry: time each HTTP request and count its status in the metrics."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.observe_request(scope, status, time.perf_counter() - started)


def _scrubbed(value: Any, scrub: Scrubber) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrubbed(item, scrub) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, scrub) for item in value]
    return value


def _guarded(work: Callable[[], Any], scrub: Scrubber) -> Any:
    """Run blocking ``work``; engine errors become scrubbed HTTP errors, bugs a bare 500."""
    try:
        return work()
    except ServiceError as error:
        error.message, error.hint = scrub(error.message), scrub(error.hint)
        raise
    except ForestGapsError as error:
        raise from_engine_error(error, scrub) from None
    except Exception as error:  # noqa: BLE001 - the service must answer, not crash
        raise internal_error(error) from None


def _single_upload(form: UploadedForm, scrub: Scrubber) -> UploadedFile:
    upload = form.files.get("file")
    if upload is None:
        kind = "a text value, not a file" if "file" in form.fields else "missing"
        raise ServiceError(
            422, f"field 'file' is {kind}", "Attach the GeoTIFF as a file: -F file=@dsm.tif."
        )
    scrub.add(upload.path, upload.name)
    return upload


def _int_field(fields: dict[str, str], name: str) -> int:
    low, high, default = AUGMENT_LIMITS[name]
    text = fields.get(name, str(default)).strip()
    if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise ServiceError(
            422, f"{name} {text!r} is not an integer in {low}..{high}", f"Send {low}..{high}."
        )
    return int(text)


def create_app(model_path: Any = "default", config: ForestGapsConfig | None = None) -> FastAPI:
    """Build the service; the model is loaded once, here, and shared by every request.

    Args:
        model_path: model folder, ``default`` (bundled; the service starts without a model
            when it is absent), None (same as ``default``) or a ``LoadedModel``.
        config: whole config; ``serve`` sets limits, ``inference`` the prediction defaults,
            ``training.augmentation`` the ``/augment`` preview.

    Returns:
        The FastAPI application (``app.state.service`` holds the ``ServiceState``).

    Raises:
        ModelError: an explicitly named model cannot be loaded.
        ConfigError: a blank token.
    """
    config = config or ForestGapsConfig()
    token = resolve_token(config.serve.token)
    if token is not None and not token.strip():
        raise ConfigError(
            "the service token is blank", hint="Set FORESTGAPS_TOKEN (or --token) to a secret."
        )
    state = ServiceState(model_path, config)
    augment_lock = threading.Lock()  # augment_preview seeds torch's global generator

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(title="ForestGaps", version=__version__, lifespan=lifespan)
    app.state.service = state
    # Added first, so it runs inside the metrics middleware: refusals are counted too.
    app.add_middleware(
        RequestGuard,
        policy=HostPolicy(
            config.serve.host, [*config.serve.allowed_hosts, *allowed_hosts_from_env()]
        ),
        token=token.strip() if token is not None else None,
    )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)

    def error_json(status: int, message: str, hint: str, headers: Any = None) -> JSONResponse:
        return JSONResponse({"error": message, "hint": hint}, status, headers=headers)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return error_json(error.status, error.message, error.hint, error.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        return error_json(error.status_code, str(error.detail), "See GET /docs for the endpoints.")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        return error_json(422, problems, "See GET /docs.")

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness and whether a model is loaded (200 even without one)."""
        loaded = state.model.loaded
        return {
            "status": "ok",
            "engine_version": __version__,
            "model_loaded": loaded is not None,
            "model_id": loaded.card.model_id if loaded is not None else None,
            "detail": state.model.unavailable_reason or "ready",
        }

    @app.get("/models")
    def models() -> dict[str, Any]:
        """The served model's card (an empty list without a model)."""
        loaded = state.model.loaded
        cards = [] if loaded is None else [loaded.card.model_dump(mode="json")]
        return {"models": cards}

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus text exposition."""
        body, content_type = state.metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/results/{job_id}/{name}")
    def result_file(job_id: str, name: str) -> FileResponse:
        """A file published by a ``/predict`` answer, until it expires.

        A GeoJSON is made from its GeoPackage on the first download, then kept.
        """
        path = state.store.lookup(job_id, name)
        if path is None:
            source = state.store.geojson_source(job_id, name)
            if source is not None:
                scrub = state.scrubber()
                path = _guarded(lambda: make_geojson(*source), scrub)
        if path is None:
            raise ServiceError(
                404,
                "no such result (unknown id or name, or expired)",
                f"Results are kept {config.serve.result_ttl_s:g} s, and older ones go "
                f"first once they take serve.max_results_mb "
                f"({config.serve.max_results_mb:g} MiB); run /predict again.",
            )
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), filename=name)

    @app.post("/predict", openapi_extra=PREDICT_FORM)
    async def predict(request: Request) -> JSONResponse:
        """Gap masks, polygons and figures of an uploaded DSM.

        Multipart form: ``file`` (single-band GeoTIFF, metres, with a CRS), ``thresholds``
        (``5,10``), optional ``tile_size_px``, ``overlap_px``, ``min_gap_area_m2``,
        ``probability_cutoff``, ``geojson_crs`` (``wgs84`` or ``input``). Polygons are
        links (``files.gaps_gpkg``, ``files.gaps_geojson``), never inline. A client that
        disconnects cancels its job.
        """
        if state.model.loaded is None:
            raise ServiceError(503, state.model.unavailable_reason, NO_MODEL_HINT)
        scrub = state.scrubber()
        folder = state.request_folder()
        try:
            form = await receive_form(request, folder, state.max_upload_bytes)
            upload = _single_upload(form, scrub)
            wanted = parse_predict_fields(form.fields, config.inference, config.serve)
            body = await run_until_disconnected(
                request,
                lambda cancelled: _guarded(
                    lambda: _predict_blocking(upload, wanted, scrub, cancelled), scrub
                ),
            )
        finally:
            await run_in_threadpool(shutil.rmtree, folder, ignore_errors=True)
        return JSONResponse(_scrubbed(body, scrub))

    def _predict_blocking(
        upload: UploadedFile, wanted: PredictRequest, scrub: Scrubber, cancelled: threading.Event
    ) -> dict[str, Any]:
        loaded = state.model.loaded
        plan = check_upload(upload, loaded, wanted, config.serve)
        is_small = plan.mpix <= config.serve.small_request_mpix
        with state.prediction_slot(is_small, cancelled):
            job_id, job_folder = state.store.new_folder()
            scrub.add(job_folder, "<job>")
            deadline_s = time.monotonic() + config.serve.max_prediction_s

            def should_stop() -> bool:
                return cancelled.is_set() or time.monotonic() > deadline_s

            try:
                body, published, geojson = run_prediction(
                    upload, plan, wanted, loaded, job_folder, f"/results/{job_id}", should_stop
                )
            except BaseException as error:
                is_cancel = isinstance(error, CancelledError)
                is_overtime = is_cancel and not cancelled.is_set()
                outcome = "overtime" if is_overtime else "cancelled" if is_cancel else "failed"
                state.metrics.predictions.labels(outcome).inc()
                shutil.rmtree(job_folder, ignore_errors=True)
                if is_overtime:
                    raise ServiceError(
                        503,
                        f"{upload.name}: the prediction ran past the "
                        f"{config.serve.max_prediction_s:g} s limit and was stopped",
                        "Clip the raster into smaller parts, send fewer thresholds or a larger "
                        "min_gap_area_m2, or raise serve.max_prediction_s.",
                    ) from None
                raise
        state.store.publish(job_id, job_folder, published, geojson)
        state.metrics.predictions.labels("ok").inc()
        state.metrics.inference_mpix.inc(plan.input_grid.width_px * plan.input_grid.height_px / 1e6)
        return {"job_id": job_id, "expires_in_s": config.serve.result_ttl_s, **body}

    @app.post("/augment", openapi_extra=AUGMENT_FORM)
    async def augment(request: Request) -> Response:
        """PNG sheet: the centre tile of an uploaded DSM, then augmented versions of it.

        Multipart form: ``file`` (GeoTIFF), optional ``n_samples`` (1-16), ``seed``,
        ``tile_size_px`` (16-512).
        """
        scrub = state.scrubber()
        folder = state.request_folder()
        try:
            form = await receive_form(request, folder, state.max_upload_bytes)
            upload = _single_upload(form, scrub)
            refuse_unknown_fields(form.fields, AUGMENT_LIMITS)
            options = {name: _int_field(form.fields, name) for name in AUGMENT_LIMITS}
            png = await run_in_threadpool(
                _guarded, lambda: _augment_blocking(upload, folder, options), scrub
            )
        finally:
            await run_in_threadpool(shutil.rmtree, folder, ignore_errors=True)
        return Response(png, media_type="image/png")

    def _augment_blocking(upload: UploadedFile, folder: Path, options: dict[str, int]) -> bytes:
        from forestgaps_engine.training.preview import augment_preview

        check_preview_upload(upload, config.serve.max_input_mpix)
        target = folder / "preview.png"
        with augment_lock:
            augment_preview(upload.path, target, config.training.augmentation, **options)
        return target.read_bytes()

    return app

"""Run the service with uvicorn: one process, or ``workers`` processes each with its model."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.errors import ConfigError
from forestgaps_engine.serve.security import TOKEN_ENV, is_loopback, resolve_token

# Worker processes are started by uvicorn from an import string, so they get the config
# through the environment rather than as an object.
CONFIG_ENV = "FORESTGAPS_SERVE_CONFIG"


def _require_serve_extra() -> None:
    import importlib.util

    missing = [
        name
        for name in ("fastapi", "uvicorn", "python_multipart", "prometheus_client")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ConfigError(
            f"the REST service needs {', '.join(missing)}, which is not installed",
            hint='Install the serve extra: pip install "forestgaps[serve]".',
        )


def app_from_environment() -> Any:
    """App factory of each worker process (reads ``FORESTGAPS_SERVE_CONFIG``)."""
    from forestgaps_engine.serve.app import create_app

    config = ForestGapsConfig.model_validate(json.loads(os.environ[CONFIG_ENV]))
    return create_app(config.serve.model, config)


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token, or with a blank one.

    Raises:
        ConfigError: a non-loopback ``host`` and no token, or a blank token.
    """
    if token is not None and not token.strip():
        raise ConfigError(
            f"the service token is blank ({TOKEN_ENV} or --token)",
            hint=f"Set {TOKEN_ENV} to a secret, e.g. {TOKEN_ENV}=$(openssl rand -hex 32).",
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--host {host} serves beyond this machine, which needs a token",
            hint=f"Set {TOKEN_ENV} (or --token) to a secret that clients send as "
            "Authorization: Bearer <token>, or keep --host 127.0.0.1.",
        )


def serve(config: ForestGapsConfig | None = None) -> None:
    """Serve until interrupted, on ``config.serve.host:port`` with ``config.serve.model``.

    Args:
        config: whole config (``serve`` section: host, port, model, workers, limits).

    Raises:
        ConfigError: the serve extra is not installed; a non-loopback host without a
            token.
        ModelError: an explicitly named model cannot be loaded (single-worker mode fails
            before listening; with several workers each worker fails at its start).
    """
    config = config or ForestGapsConfig()
    check_exposure(config.serve.host, resolve_token(config.serve.token))
    _require_serve_extra()
    import uvicorn

    settings = config.serve
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        # Connected clients get this long to receive their answer; then jobs are cancelled.
        "timeout_graceful_shutdown": max(1, round(settings.shutdown_timeout_s)),
    }
    if settings.workers == 1:
        from forestgaps_engine.serve.app import create_app

        uvicorn.run(create_app(settings.model, config), **common)
        return
    from forestgaps_engine.serve.state import SHARED_RESULTS_ENV

    # A result is downloaded from whichever worker gets the request: one folder for all.
    parent = Path(settings.temp_dir) if settings.temp_dir else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    shared_results = tempfile.mkdtemp(prefix="forestgaps-serve-results-", dir=parent)
    os.environ[CONFIG_ENV] = config.model_dump_json()
    os.environ[SHARED_RESULTS_ENV] = shared_results
    try:
        uvicorn.run(
            "forestgaps_engine.serve.runner:app_from_environment",
            factory=True,
            workers=settings.workers,
            **common,
        )
    finally:
        shutil.rmtree(shared_results, ignore_errors=True)

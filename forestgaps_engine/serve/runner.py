"""Run the service with uvicorn: one process, or ``workers`` processes each with its model."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.errors import ConfigError

logger = logging.getLogger(__name__)

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


def serve(config: ForestGapsConfig | None = None) -> None:
    """Serve until interrupted, on ``config.serve.host:port`` with ``config.serve.model``.

    Args:
        config: whole config (``serve`` section: host, port, model, workers, limits).

    Raises:
        ConfigError: the serve extra is not installed.
        ModelError: an explicitly named model cannot be loaded (single-worker mode fails
            before listening; with several workers each worker fails at its start).
    """
    _require_serve_extra()
    import uvicorn

    config = config or ForestGapsConfig()
    settings = config.serve
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "listening on %s: the service has no authentication; put it behind a proxy "
            "that authenticates clients if the network is not trusted",
            settings.host,
        )
    common = {"host": settings.host, "port": settings.port, "log_level": "info"}
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

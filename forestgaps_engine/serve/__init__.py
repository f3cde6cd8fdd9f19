"""REST inference service: ``create_app`` (FastAPI) and ``serve`` (uvicorn).

FastAPI and uvicorn come with the ``serve`` extra and are imported only when used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(model_path: Any = "default", config: Any = None) -> Any:
    """See ``forestgaps_engine.serve.app.create_app``."""
    from forestgaps_engine.serve.app import create_app as _create_app

    return _create_app(model_path, config)


def serve(config: Any = None) -> None:
    """See ``forestgaps_engine.serve.runner.serve``."""
    from forestgaps_engine.serve.runner import serve as _serve

    _serve(config)

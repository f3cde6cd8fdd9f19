"""What a Dask worker keeps between blocks: the model and its backend, loaded once."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=2)
def model_and_backend(model: str, backend: str, device: str) -> tuple[Any, Any]:
    """(``InferenceModel``, backend) of a model folder, built once per worker process."""
    from forestgaps_engine.inference.backends import create_backend
    from forestgaps_engine.inference.model_source import as_inference_model

    loaded = as_inference_model(model)
    return loaded, create_backend(loaded, backend, device)

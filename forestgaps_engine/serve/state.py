"""What one service process holds.

The model (loaded once), its private folder, the result store, the metrics and the
prediction slots.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forestgaps_engine.config import ForestGapsConfig
from forestgaps_engine.errors import CancelledError, ModelError
from forestgaps_engine.serve.errors import HIDDEN_PATH, Scrubber, ServiceError
from forestgaps_engine.serve.metrics import ServiceMetrics
from forestgaps_engine.serve.results import ResultStore

logger = logging.getLogger(__name__)

SHARED_RESULTS_ENV = "FORESTGAPS_SERVE_SHARED_RESULTS"
SLOT_POLL_S = 0.05
NO_MODEL_HINT = (
    "Start the service with --model PATH (a folder written by `forestgaps train`), "
    "or install the bundled default model."
)


@dataclass
class ModelSlot:
    """The served model, or why there is none.

    Attributes:
        loaded: the ``LoadedModel`` shared by every request, or None.
        unavailable_reason: client-facing reason when ``loaded`` is None.
    """

    loaded: Any = None
    unavailable_reason: str = ""


def load_served_model(model: Any, config: ForestGapsConfig) -> ModelSlot:
    """Load the model once; ``default`` (or None) may be missing, an explicit path may not.

    Raises:
        ModelError: an explicitly named model cannot be loaded (fail at startup, not later).
    """
    from forestgaps_engine.models.card import LoadedModel, load_model

    if isinstance(model, LoadedModel):
        loaded = model
    elif model is None or str(model) == "default":
        try:
            loaded = load_model("default")
        except ModelError:
            logger.warning("no model: the bundled default model is not installed")
            return ModelSlot(None, "no model is loaded: the bundled default model is not installed")
    else:
        loaded = load_model(model)
    from forestgaps_engine.inference.backends import create_backend

    # Backend selection (ONNX export, calibration) happens once here, not in a request.
    backend = create_backend(loaded, config.inference.backend, config.inference.device)
    logger.info(
        "serving model %s (%s) with the %s backend on %s",
        loaded.card.model_id,
        loaded.card.architecture,
        backend.name,
        backend.device,
    )
    return ModelSlot(loaded, "")


class ServiceState:
    """Shared state of one app; ``close()`` removes every file the service wrote.

    Args:
        model: model path, ``default``, None, or a ``LoadedModel``.
        config: the whole config (``serve`` and ``inference`` sections are used).
    """

    def __init__(self, model: Any, config: ForestGapsConfig) -> None:
        self.config = config
        self.model = load_served_model(model, config)
        parent = Path(config.serve.temp_dir) if config.serve.temp_dir else None
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        # mkdtemp: mode 0700, so other local users cannot read uploads or results.
        self.root = Path(tempfile.mkdtemp(prefix="forestgaps-serve-", dir=parent))
        (self.root / "requests").mkdir()
        shared_results = os.environ.get(SHARED_RESULTS_ENV)
        # Several workers share one results folder (made and removed by the parent).
        self.owns_results = not shared_results
        results = Path(shared_results) if shared_results else self.root / "results"
        results.mkdir(exist_ok=True)
        self.store = ResultStore(
            results, config.serve.result_ttl_s, int(config.serve.max_results_mb * 2**20)
        )
        self.metrics = ServiceMetrics()
        self.max_upload_bytes = int(config.serve.max_upload_mb * 2**20)
        self._slots = threading.BoundedSemaphore(config.serve.max_concurrent_predictions)
        self._small_slots = threading.BoundedSemaphore(1)
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), True)

    def scrubber(self) -> Scrubber:
        """A scrubber hiding the service folder, the temp folder and the model folder."""
        scrub = Scrubber()
        scrub.add(tempfile.gettempdir(), HIDDEN_PATH)
        scrub.add(self.root, HIDDEN_PATH)
        if self.model.loaded is not None:
            scrub.add(self.model.loaded.path, "<model>")
        return scrub

    def request_folder(self) -> Path:
        """A new private folder for one request's uploads."""
        return Path(tempfile.mkdtemp(dir=self.root / "requests"))

    @contextmanager
    def prediction_slot(self, is_small: bool, cancelled: threading.Event) -> Any:
        """Hold one prediction slot (blocking, in a worker thread); 503 after the timeout.

        A small request (``serve.small_request_mpix``) takes a small slot or a general one,
        whichever frees first, so it never queues behind a large prediction alone.

        Raises:
            ServiceError: 503 when no slot frees within ``serve.queue_timeout_s``.
            CancelledError: ``cancelled`` was set while waiting (the client left).
        """
        pools = [self._small_slots, self._slots] if is_small else [self._slots]
        with self.metrics.waiting.track_inprogress():
            held = self._acquire_any(pools, cancelled)
        try:
            with self.metrics.in_progress.track_inprogress():
                yield
        finally:
            held.release()

    def _acquire_any(
        self, pools: list[threading.BoundedSemaphore], cancelled: threading.Event
    ) -> threading.BoundedSemaphore:
        deadline = time.monotonic() + self.config.serve.queue_timeout_s
        while True:
            for pool in pools:
                if pool.acquire(blocking=False):
                    return pool
            if cancelled.is_set():
                raise CancelledError("the client closed the connection while queued")
            if time.monotonic() >= deadline:
                raise ServiceError(
                    503,
                    f"the service is busy: no prediction slot freed within "
                    f"{self.config.serve.queue_timeout_s:g} s",
                    "Retry later, or run more workers (--workers).",
                    headers={"Retry-After": "30"},
                )
            # Polled rather than waited on: a request may wait on two pools at once.
            time.sleep(SLOT_POLL_S)

    def close(self) -> None:
        """Remove uploads and results."""
        if self.owns_results:
            self.store.clear()
        self._finalizer()

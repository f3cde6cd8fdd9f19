"""Dask: a LocalCluster by default, any scheduler by address; tasks with retries and progress."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from forestgaps_engine.errors import ConfigError, require_package
from forestgaps_engine.progress import Reporter

logger = logging.getLogger(__name__)

# A block whose worker dies is run again on another worker, up to this many times.
TASK_RETRIES = 3
# Besides its block, a worker holds the interpreter, torch and the model.
WORKER_BASE_BYTES = 1024**3


def require_dask() -> None:
    """Raise a ConfigError naming the extra when dask.distributed is missing."""
    require_package(
        "distributed", "region mode",
        'Install it with pip install ".[region]" (or the plugin\'s dependency installer).',
        "dask.distributed",
    )  # fmt: skip


@contextmanager
def dask_client(
    scheduler: str, n_workers: int | None, memory_per_worker_bytes: int, processes: bool = True
) -> Iterator[Any]:
    """A ``distributed.Client``: a LocalCluster of worker processes, or a remote scheduler.

    Args:
        scheduler: ``local`` or a scheduler address (``tcp://host:8786``).
        n_workers: local workers (default: one per core, at most 4 per 16 GB).
        memory_per_worker_bytes: each local worker's memory limit (Dask pauses, then
            restarts, a worker past it; its blocks run again).
        processes: local workers are processes (False: threads of this process, for
            hosts whose executable is not a Python that Dask can start, such as QGIS).
    """
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler != "local":
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as error:
            raise ConfigError(
                f"no Dask scheduler answers at {scheduler} ({error})",
                hint="Check --scheduler (tcp://host:8786) or use --scheduler local.",
            ) from error
        logger.info("Dask dashboard: %s", client.dashboard_link)
        with client:
            yield client
        return
    n_workers = n_workers or max(1, os.cpu_count() or 1)
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        memory_limit=memory_per_worker_bytes if processes else 0,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    try:
        with Client(cluster) as client:
            logger.info("Dask dashboard: %s", client.dashboard_link)
            yield client
    finally:
        cluster.close()


def run_tasks(
    client: Any,
    function: Callable[..., Any],
    arguments: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    reporter: Reporter,
    message: str,
) -> None:
    """Run ``function(*args)`` for each of ``arguments`` on the cluster, in any order.

    Each task is retried ``TASK_RETRIES`` times (a worker that died); the first error
    that survives them is raised here. ``reporter`` gets every finished task (and its
    cancel check stops the run: the remaining tasks are cancelled).
    """
    from distributed import as_completed

    futures = [
        client.submit(function, *args, key=key, retries=TASK_RETRIES, pure=False)
        for args, key in zip(arguments, keys, strict=True)
    ]
    try:
        for n_done, future in enumerate(as_completed(futures), start=1):
            future.result()
            reporter.report(n_done / max(1, len(futures)), f"{message} {n_done}/{len(futures)}")
    except BaseException:
        client.cancel(futures)
        raise

"""Blocking work that stops when its client leaves.

The work runs in a worker thread and receives a ``threading.Event``; the request's task
polls the connection and sets the event once the client has gone (its timeout, a closed
tab) or the server cancels the task (shutdown past ``serve.shutdown_timeout_s``). The
engine reads the event through ``predict``'s ``cancel`` callback after every batch, so an
abandoned prediction gives its slot back within a batch instead of running to the end.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)

T = TypeVar("T")
DISCONNECT_POLL_S = 0.25


async def run_until_disconnected(request: Any, work: Callable[[threading.Event], T]) -> T:
    """Run ``work(cancelled)`` in a worker thread; set ``cancelled`` when the client leaves.

    Waits for ``work`` to return even after a disconnect, so that what it holds (a slot,
    files) is released before the request ends.

    Args:
        request: the Starlette request.
        work: blocking callable; should stop soon after its event is set.

    Returns:
        What ``work`` returned (or raises what it raised).
    """
    cancelled = threading.Event()
    task = asyncio.ensure_future(run_in_threadpool(work, cancelled))
    try:
        while True:
            done, _pending = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if not cancelled.is_set() and await request.is_disconnected():
                logger.info("client of %s left; cancelling its job", request.url.path)
                cancelled.set()
    except asyncio.CancelledError:
        # The server gave up on this request (shutdown): stop the job, let it clean up.
        cancelled.set()
        await asyncio.shield(asyncio.wait({task}))
        if not task.cancelled():
            task.exception()  # retrieved: the client is gone, nobody else will read it
        raise

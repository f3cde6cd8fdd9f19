"""Work on every core: an ordered map over worker threads, and a pipeline of stages.

Post-processing handles a raster one strip at a time in NumPy and SciPy, whose large
array operations release the GIL, so strips processed in threads use both cores of a
2-core machine where one thread left one idle (tracing a 4096² map's polygons: 1.37 s in
one thread, 0.70 s in two). Reading a strip stays in the caller's thread, because a
rasterio dataset must not be used from two threads at once; only the pure array work
runs in the workers.

``run_pipeline`` chains stages that each own one thread (reading, normalizing, the model,
blending, writing, labelling), joined by bounded queues: no stage waits on another's I/O
while there is room in its output queue, memory holds a fixed number of items in flight,
and each stage's profile says how long it sat blocked on its input or its output.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_threads(n_threads: int) -> int:
    """``n_threads``, or one per available core for 0."""
    if n_threads < 0:
        raise ValueError(f"n_threads must be >= 0 (0 = one per core), got {n_threads!r}")
    return n_threads or available_cores()


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item], n_threads: int
) -> Iterator[Result]:
    """``map(function, items)`` with ``function`` in up to ``n_threads`` worker threads.

    ``items`` is consumed lazily in the caller's thread, at most ``n_threads`` items ahead
    of the result being yielded, so memory holds ``n_threads + 1`` strips whatever the
    raster size; results come in the order of ``items``. An exception in ``function`` is
    raised by the next result in line, and closing the iterator early cancels the items
    not started. ``n_threads`` 1 runs everything in the caller's thread, 0 means one
    thread per core.

    Args:
        function: the work on one item; it must not touch objects that other items'
            work touches (open datasets, shared arrays it writes).
        items: the work items (a generator that reads strips, typically).
        n_threads: worker threads, >= 0 (``resolve_threads``).
    """
    n_threads = resolve_threads(n_threads)
    if n_threads == 1:
        yield from map(function, items)
        return
    pending: deque[Future[Result]] = deque()
    with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="forestgaps") as pool:
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) >= n_threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


# How often a blocked stage looks whether the pipeline is stopping, seconds.
_POLL_S = 0.02


@dataclass
class StageProfile:
    """Where one pipeline stage spent its wall time (seconds) and how many items it took.

    Attributes:
        busy_s: in the stage's own work.
        wait_input_s: blocked on an empty input queue (starved by the stage before).
        wait_output_s: blocked on a full output queue (held up by the stage after).
        n_items: items taken from the input (produced, for the first stage).
    """

    busy_s: float = 0.0
    wait_input_s: float = 0.0
    wait_output_s: float = 0.0
    n_items: int = 0

    def rounded(self) -> dict[str, float]:
        """The figures rounded to the millisecond, for a summary."""
        return {key: round(value, 3) for key, value in asdict(self).items()}


class _Stopping(Exception):
    """Raised inside a stage when another stage failed or the caller stopped."""


_END = object()

Stage = tuple[str, Callable[[Any], Iterable[Any] | None]]
"""``(name, work)``: ``work(item)`` returns the items it passes on (None: none)."""


class _Link:
    """A bounded queue whose blocking calls give up once the pipeline stops."""

    def __init__(self, size: int, stop: threading.Event) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._stop = stop

    def put(self, item: Any) -> float:
        """Put ``item``; returns the seconds spent blocked."""
        return self._blocking(lambda: self._queue.put(item, timeout=_POLL_S))[1]

    def get(self) -> tuple[Any, float]:
        """(next item, seconds spent blocked)."""
        return self._blocking(lambda: self._queue.get(timeout=_POLL_S))

    def _blocking(self, call: Callable[[], Any]) -> tuple[Any, float]:
        """``call()``'s result and the seconds until it succeeded, retried until stopped."""
        started = time.perf_counter()
        while not self._stop.is_set():
            with suppress(queue.Full, queue.Empty):
                return call(), time.perf_counter() - started
        raise _Stopping


def _timed_items(items: Iterable[Any], profile: StageProfile) -> Iterator[Any]:
    """``items``, adding the time spent producing each to ``profile.busy_s``."""
    iterator = iter(items)
    while True:
        started = time.perf_counter()
        item = next(iterator, _END)
        profile.busy_s += time.perf_counter() - started
        if item is _END:
            return
        yield item


def run_pipeline(
    source: tuple[str, Iterable[Any]],
    stages: Sequence[Stage],
    poll: Callable[[], None],
    queue_size: int = 2,
) -> dict[str, StageProfile]:
    """Run ``source`` and ``stages`` each on its own thread, joined by bounded queues.

    Items keep their order through every stage (one thread per stage). The caller's
    thread only waits, calling ``poll`` about every 20 ms: progress and cancel live there,
    and so do signal handlers (a KeyboardInterrupt raised while waiting stops the
    pipeline). Any exception, in a stage or in ``poll``, stops every stage at its next
    item or queue operation; once all threads have ended it is raised to the caller (a
    stage's first, or the caller's own), so nothing runs on after ``run_pipeline``.

    Args:
        source: ``(name, items)``: the items are produced on the first thread.
        stages: the following stages in order; the last one's outputs are dropped.
        poll: called on the caller's thread while it waits.
        queue_size: items each queue holds (memory holds at most this many per link,
            plus one in each stage).

    Returns:
        Each stage's profile, by name, in pipeline order.
    """
    stop = threading.Event()
    errors: list[BaseException] = []
    names = [source[0], *(name for name, _work in stages)]
    profiles = {name: StageProfile() for name in names}
    links = [_Link(queue_size, stop) for _ in stages]

    def fail(error: BaseException) -> None:
        errors.append(error)
        stop.set()

    def produce() -> None:
        profile = profiles[source[0]]
        try:
            for item in _timed_items(source[1], profile):
                profile.n_items += 1
                if links:
                    profile.wait_output_s += links[0].put(item)
            if links:
                links[0].put(_END)
        except _Stopping:
            pass
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            fail(error)

    def consume(index: int) -> None:
        name, work = stages[index]
        profile = profiles[name]
        output = links[index + 1] if index + 1 < len(links) else None
        try:
            while True:
                item, waited_s = links[index].get()
                profile.wait_input_s += waited_s
                if item is _END:
                    break
                profile.n_items += 1
                started = time.perf_counter()
                results = work(item)
                profile.busy_s += time.perf_counter() - started
                for result in _timed_items(results if results is not None else (), profile):
                    if output is not None:
                        profile.wait_output_s += output.put(result)
            if output is not None:
                output.put(_END)
        except _Stopping:
            pass
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            fail(error)

    threads = [threading.Thread(target=produce, name=f"forestgaps-{names[0]}", daemon=True)]
    threads += [
        threading.Thread(target=consume, args=(index,), name=f"forestgaps-{name}", daemon=True)
        for index, (name, _work) in enumerate(stages)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                poll()
                thread.join(timeout=_POLL_S)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]
    return profiles

"""The ordered thread map behind strip-wise post-processing."""

from __future__ import annotations

import threading
import time

import pytest

from forestgaps_engine.threads import ordered_map, resolve_threads


@pytest.mark.parametrize("n_threads", [1, 2, 5])
def test_results_come_in_the_order_of_the_items(n_threads) -> None:
    def slow_for_even(value: int) -> int:
        # Later items finish first when run concurrently: order must not follow completion.
        time.sleep(0.01 if value % 2 == 0 else 0.0)
        return value * value

    assert list(ordered_map(slow_for_even, range(23), n_threads)) == [v * v for v in range(23)]


def test_work_runs_in_worker_threads_and_items_are_read_by_the_caller() -> None:
    caller = threading.get_ident()
    read_by: list[int] = []

    def items():
        for value in range(6):
            read_by.append(threading.get_ident())
            yield value

    workers = set(ordered_map(lambda _value: threading.get_ident(), items(), 2))
    assert set(read_by) == {caller}
    assert caller not in workers


class _CountedItems:
    """0..n - 1, counting how many were read."""

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items
        self.read = 0

    def __iter__(self):
        for value in range(self.n_items):
            self.read += 1
            yield value


def test_items_are_read_at_most_n_threads_ahead() -> None:
    items = _CountedItems(100)
    for got in ordered_map(lambda value: value, items, 3):
        # Items read = the ones yielded so far + at most n_threads in flight.
        assert items.read <= got + 1 + 3
    assert items.read == 100


def test_an_error_in_the_work_reaches_the_caller_and_stops_the_reading() -> None:
    items = _CountedItems(1000)

    def fail_on_five(value: int) -> int:
        if value == 5:
            raise ValueError("strip 5 is broken")
        return value

    got = []
    with pytest.raises(ValueError, match="strip 5"):
        for value in ordered_map(fail_on_five, items, 2):
            got.append(value)
    assert got == [0, 1, 2, 3, 4]
    assert items.read < 10


def test_thread_counts() -> None:
    assert resolve_threads(3) == 3
    assert resolve_threads(0) >= 1
    with pytest.raises(ValueError, match="n_threads"):
        resolve_threads(-1)

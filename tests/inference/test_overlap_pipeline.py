"""threads.run_pipeline: order, bounded queues, where the waits are, errors and stops."""

from __future__ import annotations

import threading
import time

import pytest

from forestgaps_engine.threads import run_pipeline


def test_items_keep_their_order_and_each_step_runs_on_its_own_thread():
    seen: dict[str, set[str]] = {"double": set(), "collect": set()}
    collected: list[int] = []

    def double(item: int) -> list[int]:
        seen["double"].add(threading.current_thread().name)
        return [2 * item, 2 * item + 1]

    def collect(item: int) -> None:
        seen["collect"].add(threading.current_thread().name)
        collected.append(item)

    profile = run_pipeline(("count", iter(range(50))), [("double", double), ("collect", collect)],
                           poll=lambda: None)  # fmt: skip
    assert collected == list(range(100))
    assert seen == {"double": {"forestgaps-double"}, "collect": {"forestgaps-collect"}}
    assert [profile[name].n_items for name in ("count", "double", "collect")] == [50, 50, 100]


def test_the_profile_shows_which_step_waits_on_which():
    def slow(item: int) -> list[int]:
        time.sleep(0.02)
        return [item]

    profile = run_pipeline(("source", iter(range(20))), [("slow", slow), ("sink", lambda _: None)],
                           poll=lambda: None, queue_size=1)  # fmt: skip
    # The source is held up by the slow step's full queue; the sink starves.
    assert profile["source"].wait_output_s > 0.2
    assert profile["sink"].wait_input_s > 0.2
    assert profile["slow"].busy_s >= 0.4
    assert profile["slow"].wait_input_s < 0.1


def test_an_error_in_a_step_or_in_poll_stops_every_thread_and_reaches_the_caller():
    before = threading.active_count()

    def fail_on_7(item: int) -> list[int]:
        if item == 7:
            raise ValueError("item 7")
        return [item]

    endless = iter(int, 1)  # never ends: only the stop ends the source
    with pytest.raises(ValueError, match="item 7"):
        run_pipeline(("source", (n for n, _ in enumerate(endless))),
                     [("fail", fail_on_7), ("sink", lambda _: None)], poll=lambda: None)  # fmt: skip
    assert threading.active_count() == before

    def poll() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(("source", (n for n, _ in enumerate(iter(int, 1)))),
                     [("sink", lambda _: None)], poll=poll)  # fmt: skip
    assert threading.active_count() == before

"""Lesson 05's instruments: timing in turn, the freeable lock, and the two deadlock graphs."""

import threading
import time

import pytest

from helpers import hazards, plots

pytestmark = pytest.mark.usefixtures("nothing_left_running")


def test_time_in_turn_repeats_each_function_in_turn():
    calls = []
    timings = hazards.time_in_turn({"a": lambda: calls.append("a") or 1,
                                    "b": lambda: calls.append("b") or 2}, repeats=3)
    assert calls == ["a", "b"] + ["a", "b"] * 3          # one warm-up each, then in turn
    assert timings.results == {"a": [1, 1, 1], "b": [2, 2, 2]}
    assert all(t >= 0 for ts in timings.seconds.values() for t in ts)
    assert timings.ratio("a", "a") == 1.0
    assert "3 runs of each" in str(timings)


@pytest.mark.parametrize("runs, repeats, error", [
    ({}, 3, TypeError), ({"a": 1}, 3, TypeError), ([lambda: 0], 3, TypeError),
    ({"a": lambda: 0}, 0, ValueError), ({"a": lambda: 0}, 2.5, TypeError),
])
def test_time_in_turn_refuses_bad_input(runs, repeats, error):
    with pytest.raises(error):
        hazards.time_in_turn(runs, repeats)


def test_draw_timings():
    fig = plots.figure()
    ax = fig.add_subplot()
    hazards.draw_timings(ax, hazards.time_in_turn({"no lock": lambda: 0, "lock": lambda: 0}, 2))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no lock", "lock"]
    assert "ms" in ax.get_ylabel()


def test_freeable_lock_is_a_lock_and_knows_its_holder():
    lock = hazards.FreeableLock("L")
    with lock:
        assert lock.locked() and lock.held_by_me() and lock.holder == "MainThread"
        assert not lock.acquire(timeout=0.05)
        assert not lock.acquire(blocking=False)
    assert not lock.locked() and lock.acquisitions == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # SystemExit
def test_a_deadlock_on_freeable_locks_is_seen_and_freed():
    a, b = hazards.FreeableLock("lock A"), hazards.FreeableLock("lock B")
    start = threading.Barrier(2)

    def transfer(first, second):
        with first:
            start.wait(timeout=5)
            with second:
                pass

    threads = [threading.Thread(target=transfer, args=(a, b), name="thread 1"),
               threading.Thread(target=transfer, args=(b, a), name="thread 2")]
    for t in threads:
        t.start()
    time.sleep(0.3)
    holds, waits = hazards.holds_and_waits([a, b])
    assert holds == {"thread 1": ["lock A"], "thread 2": ["lock B"]}
    assert waits == {"thread 1": "lock B", "thread 2": "lock A"}
    assert hazards.find_cycle(holds, waits) == ["thread 1", "lock B", "thread 2", "lock A"]
    assert hazards.wait_for_edges(holds, waits) == {"thread 1": "thread 2",
                                                    "thread 2": "thread 1"}
    a.free()
    b.free()
    for t in threads:
        t.join(2)
    assert not any(t.is_alive() for t in threads)
    assert not a.locked() and not b.locked()   # the with blocks released what they held


def test_find_cycle():
    holds = {"t1": ["A"], "t2": ["B"]}
    assert hazards.find_cycle(holds, {"t1": "B", "t2": "A"}) == ["t1", "B", "t2", "A"]
    assert hazards.find_cycle(holds, {"t1": "B"}) == []
    assert hazards.find_cycle({}, {}) == []


def test_both_graphs_draw_and_name_what_they_are():
    fig = plots.figure(8, 4)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    holds, waits = {"t1": ["A"], "t2": ["B"]}, {"t1": "B", "t2": "A"}
    hazards.draw_resource_graph(left, holds, waits)
    hazards.draw_wait_for_graph(right, holds, waits)
    assert left.get_title().startswith("resource-allocation graph")
    assert right.get_title().startswith("wait-for graph")
    assert "deadlock" in left.get_title() and "deadlock" in right.get_title()
    assert len(plots.to_png(fig)) > 1000


@pytest.mark.parametrize("kwargs", [dict(name=""), dict(name=None), dict(name=42),
                                    dict(yield_after="yes")])
def test_freeable_lock_refuses_bad_input(kwargs):
    with pytest.raises(TypeError, match=next(iter(kwargs))):
        hazards.FreeableLock(**kwargs)

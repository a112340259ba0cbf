"""Tests for helpers.lock_contention: it repeats the function the lesson shows
(workers.lesson06.locked_increments), the measurement has the right shape, every
run counts exactly, bad input is refused before anything starts, and nothing is
left running afterwards.

No test asserts a speed: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import threading

import pytest
import workers.lesson06 as w  # conftest.py puts notebooks/ on sys.path
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from helpers import launch, lock_contention

pytestmark = pytest.mark.usefixtures("nothing_left_running")  # see conftest.py


def test_measure_structure_and_counts():
    cost = lock_contention.measure_lock_cost(w.locked_increments, worker_counts=(1, 2),
                                             modes=("threads", "processes"),
                                             operations=2000, repeats=2)
    assert cost.counts_correct
    assert [(p.mode, p.n_workers) for p in cost.points] == [
        ("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)]
    for p in cost.points:
        assert len(p.ns_per_op) == 2
        assert all(x > 0 for x in p.ns_per_op)
        assert p.low <= p.median <= p.high
    for p in cost.curve("threads") + cost.curve("processes"):
        if p.n_workers == 1:
            assert p.handovers_per_1000 == 0  # one worker never hands the lock over
        else:
            # the second worker took the lock at least once per round
            assert p.handovers_per_1000 >= 1000 * 2 / (2000 * 3) - 1e-9
    assert cost.ratio("threads", 1) == 1.0
    assert cost.ratio("processes", 2) == cost.median("processes", 2) / cost.median("processes", 1)
    assert cost.median("threads", 3) is None
    assert "hand-overs/1000" in str(cost)


def test_measure_under_spawn(monkeypatch):
    monkeypatch.setenv("COURSE_START_METHOD", "spawn")
    cost = lock_contention.measure_lock_cost(w.locked_increments, worker_counts=(2,),
                                             modes=("processes",), operations=1000, repeats=1)
    assert cost.counts_correct and cost.start_method == "spawn"


def test_draw_labels_axes_and_uses_course_colours():
    from helpers.plots import COLORS

    cost = lock_contention.LockCost({"threads": 100, "processes": 100}, 1, "fork", 2)
    for mode, base in (("threads", 500.0), ("processes", 900.0)):
        for n in (1, 2):
            cost.points.append(lock_contention.CostPoint(mode, n, [base * n, base * n + 50]))
    ax = Figure().subplots()  # no pyplot: nothing global changes
    lock_contention.draw(ax, cost)
    assert "(ns)" in ax.get_ylabel() and ax.get_xlabel()
    colors = [to_hex(line.get_color()) for line in ax.get_lines()]
    assert colors == [COLORS["threads"].lower(), COLORS["processes"].lower()]
    assert len(ax.get_legend().get_texts()) == 2


BAD_INPUT = [
    ({"fn": 42}, TypeError, "fn must be"),
    ({"fn": lambda lock, counter, times, me: None, "modes": ("processes",)}, ValueError,
     "lambda"),
    ({"worker_counts": 4}, TypeError, "worker_counts"),
    ({"worker_counts": ()}, ValueError, "empty"),
    ({"worker_counts": (0, 2)}, ValueError, "worker count"),
    ({"modes": ("greenlets",)}, ValueError, "modes"),
    ({"modes": "threads"}, ValueError, "modes"),
    ({"operations": 10}, ValueError, "operations"),
    ({"repeats": 0}, ValueError, "repeats"),
    ({"timeout": -1}, ValueError, "timeout"),
]


@pytest.mark.parametrize("kwargs, error, words", BAD_INPUT)
def test_bad_input_is_refused_before_anything_starts(kwargs, error, words, monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    kwargs = {"fn": w.locked_increments, **kwargs}
    with pytest.raises(error, match=words):
        lock_contention.measure_lock_cost(**kwargs)
    assert started == []
    assert launch.leftover_workers() == []

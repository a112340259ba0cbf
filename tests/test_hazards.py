"""The hazards must reproduce every time, the fixes must work, and nothing may be left running."""

import threading
import time

import pytest

from helpers import hazards, launch, system


@pytest.fixture(autouse=True)
def nothing_left_behind():
    threads_before = threading.active_count()
    children_before = {p.pid for p in launch.leftover_workers()}  # e.g. from other test modules
    yield
    assert hazards.leftover_threads() == []
    assert threading.active_count() <= threads_before
    assert [p.pid for p in launch.leftover_workers() if p.pid not in children_before] == []


# --------------------------------------------------------------------------- race


def test_thread_race_loses_updates_in_every_run():
    losses = [hazards.race_threads(4, 1000).lost for _ in range(5)]
    assert all(lost > 0 for lost in losses), losses


def test_thread_race_with_lock_loses_nothing():
    for _ in range(3):
        result = hazards.race_threads(4, 300, guard="lock")
        assert result.lost == 0
        assert result.final == result.expected == 1200


def test_bare_increment_runs_and_reports_consistent_numbers():
    # How much a bare `+= 1` loses depends on the Python version: only check the bookkeeping.
    result = hazards.race_threads(2, 10_000, window="none")
    assert 0 <= result.lost < result.expected
    assert result.final + result.lost == 20_000


def test_process_race_loses_updates_in_every_run():
    losses = [hazards.race_processes(2, 10_000).lost for _ in range(5)]
    assert all(lost > 0 for lost in losses), (system.course_start_method(), losses)


def test_value_with_its_own_lock_still_loses_updates():
    # Value(lock=True) guards each read and each write, not the read-modify-write pair.
    assert hazards.race_processes(2, 10_000, guard="value-lock").lost > 0


def test_process_race_with_lock_loses_nothing():
    result = hazards.race_processes(2, 500, guard="lock")
    assert result.lost == 0 and result.final == 1000
    assert result.start_method == system.course_start_method()


def test_lock_cost_measures_both_versions():
    cost = hazards.lock_cost("threads", 2, 1000, repeats=2, window="yield")
    assert len(cost.locked) == len(cost.unlocked) == 2
    assert all(t > 0 for t in cost.locked + cost.unlocked)
    assert max(cost.lost_locked) == 0 and min(cost.lost_unlocked) > 0
    assert "as long" in str(cost)


@pytest.mark.parametrize("kwargs, error", [
    (dict(n_threads=0), ValueError),
    (dict(n_threads=1), ValueError),
    (dict(n_threads=2.5), TypeError),
    (dict(n_threads=True), TypeError),
    (dict(increments=0), ValueError),
    (dict(increments=10**9), ValueError),
    (dict(guard="mutex"), ValueError),
    (dict(window="wide"), ValueError),
    (dict(timeout=0), ValueError),
])
def test_race_threads_refuses_bad_input_before_starting(kwargs, error):
    before = threading.active_count()
    with pytest.raises(error):
        hazards.race_threads(**kwargs)
    assert threading.active_count() == before


def test_race_processes_refuses_bad_input_before_starting():
    with pytest.raises(ValueError, match="Start method"):
        hazards.race_processes(start_method="teleport")
    with pytest.raises(ValueError, match="guard"):
        hazards.race_processes(guard="mutex")
    with pytest.raises(ValueError, match="n_procs"):
        hazards.race_processes(n_procs=100)
    assert launch.leftover_workers() == []


# --------------------------------------------------------------------------- check-then-act


def test_booking_without_lock_oversells_every_time():
    results = [hazards.sell_tickets(5, 20) for _ in range(5)]
    assert all(r.oversold > 0 for r in results), [r.sold for r in results]


def test_booking_with_lock_sells_exactly_the_seats():
    result = hazards.sell_tickets(5, 20, guard="lock")
    assert result.sold == 5 and result.oversold == 0
    assert len(set(result.sold_to)) == 5


def test_cache_check_then_act_computes_more_than_once():
    assert hazards.cache_fill_race(8) > 1


# --------------------------------------------------------------------------- deadlock


def test_opposite_lock_order_deadlocks_and_is_detected_within_the_timeout():
    t0 = time.perf_counter()
    result = hazards.two_locks("opposite", patience=0.5, hold=0.02)
    assert time.perf_counter() - t0 < 0.5 + 3.0
    assert result.deadlocked
    assert result.holds == {"thread 1": ["lock A"], "thread 2": ["lock B"]}
    assert result.waits == {"thread 1": "lock B", "thread 2": "lock A"}
    assert "DEADLOCK" in str(result)


@pytest.mark.parametrize("strategy", ["ordered", "trylock"])
def test_lock_fixes_finish(strategy):
    result = hazards.two_locks(strategy, patience=2.0, hold=0.02)
    assert not result.deadlocked
    assert result.finished == ["thread 1", "thread 2"]


def test_find_cycle():
    holds = {"t1": ["A"], "t2": ["B"]}
    assert hazards.find_cycle(holds, {"t1": "B", "t2": "A"}) == ["t1", "B", "t2", "A"]
    assert hazards.find_cycle(holds, {"t1": "B"}) == []
    assert hazards.find_cycle({}, {}) == []


def test_wait_for_graph_draws_and_names_the_cycle():
    from helpers import plots

    fig = plots.figure()
    ax = fig.add_subplot()
    hazards.draw_wait_for_graph(ax, {"t1": ["A"], "t2": ["B"]}, {"t1": "B", "t2": "A"})
    assert ax.get_title().startswith("cycle: t1 -> B -> t2 -> A -> t1")
    assert len(plots.to_png(fig)) > 1000


# --------------------------------------------------------------------------- thread-safety


def test_list_append_from_threads_loses_nothing():
    expected, actual = hazards.append_from_threads(4, 20_000)
    assert expected == actual == 80_000


def test_iterating_a_dict_while_another_thread_adds_keys_fails():
    error = hazards.iterate_while_mutating(1.0)
    assert error is not None and "changed size during iteration" in error


def test_process_race_that_runs_too_long_is_stopped_and_cleaned_up():
    with pytest.raises(TimeoutError, match="did not finish"):
        hazards.race_processes(2, 2_000_000, timeout=0.2)
    # the autouse fixture then checks that both children are gone

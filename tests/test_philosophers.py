"""The naive dinner deadlocks every time, both fixes never do, and every thread is joined."""

import pytest

from helpers import hazards, philosophers

pytestmark = pytest.mark.usefixtures("nothing_left_running")


@pytest.mark.parametrize("n", [2, 5])
def test_naive_philosophers_deadlock(n):
    result = philosophers.dine(n, "naive", seconds=1.0, patience=0.3)
    assert result.deadlocked
    assert len(hazards.find_cycle(result.holds, result.waits)) == 2 * n


def test_deadlock_is_reported_even_when_the_dinner_ends_before_the_patience():
    result = philosophers.dine(4, "naive", seconds=0.2, patience=1.0)
    assert result.deadlocked and result.seconds < 1.0


@pytest.mark.parametrize("strategy", ["ordered", "waiter"])
def test_fixed_philosophers_all_eat_without_deadlock(strategy):
    result = philosophers.dine(5, strategy, seconds=0.6, patience=0.3)
    assert not result.deadlocked
    assert all(m > 0 for m in result.meals), result.meals


def test_dine_refuses_bad_input():
    with pytest.raises(ValueError, match="at most 8"):
        philosophers.dine(9)
    with pytest.raises(ValueError, match="strategy"):
        philosophers.dine(5, "polite")


def test_panel_runs_a_dinner_and_shows_the_result():
    panel = philosophers.dinner_panel(seconds=0.3, patience=0.3)
    result = panel.run()            # 5 philosophers, naive: what the button does
    assert result is panel.result and result.deadlocked
    assert "DEADLOCK" in panel.children[1].value
    assert len(panel.children[2].value) > 1000      # the PNG of meals and wait-for graph

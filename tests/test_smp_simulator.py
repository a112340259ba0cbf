"""Tests for helpers.smp_simulator: known answers worked by hand, bad input, the widget."""

import pytest

from helpers import plots
from helpers import smp_simulator as sim
from helpers.smp_simulator import Task, simulate_amp, simulate_smp


def tasks_on(schedule, core):
    return [s.task for s in schedule.slices if s.core == core and s.what == "task"]


def test_smp_makespan_worked_by_hand():
    # core 0 takes 3 (0-3), core 1 takes 1 (0-1), then 2 (1-3); at t=3 core 0 takes 2 (3-5),
    # core 1 takes 4 (3-7). Makespan 7.
    s = simulate_smp([3, 1, 2, 2, 4], [1, 1])
    assert s.makespan == 7.0
    assert tasks_on(s, 0) == [0, 3]
    assert tasks_on(s, 1) == [1, 2, 4]


def test_amp_master_plus_one_worker_worked_by_hand():
    # The single worker runs everything (12 s); only the first task waits for its dispatch.
    s = simulate_amp([3, 1, 2, 2, 4], [1, 1], dispatch_cost=0.25)
    assert s.makespan == 12.25
    assert tasks_on(s, 0) == []  # the master runs no task
    assert tasks_on(s, 1) == [0, 1, 2, 3, 4]
    assert s.busy_share(0) == 0.0


def test_heterogeneous_cores_amp_puts_the_long_task_on_the_fast_core():
    tasks = sim.task_mix("one long task first")
    speeds = sim.core_speeds(4, 2.0)
    smp, amp = simulate_smp(tasks, speeds), simulate_amp(tasks, speeds)
    assert smp.makespan == 6.0 and tasks_on(smp, 0)[0] == 0  # a slow peer took it
    assert amp.makespan == 3.0 and tasks_on(amp, 3) == [0]   # the master chose the fast core


def test_master_is_a_bottleneck_for_many_short_tasks():
    tasks = sim.task_mix("many short tasks")
    smp = simulate_smp(tasks, [1] * 4, pick_cost=0.125)
    amp = simulate_amp(tasks, [1] * 4, dispatch_cost=0.125)
    assert smp.makespan == 2.0
    assert amp.makespan == pytest.approx(32 * 0.125 + 0.125)
    assert tasks_on(amp, 2) == [] and tasks_on(amp, 3) == []  # they never got work


def test_load_imbalance_and_longest_first():
    tasks = sim.task_mix("one long task last")
    assert simulate_smp(tasks, [1] * 4).makespan == 6.0
    assert simulate_smp(sorted(tasks, key=lambda t: -t.work), [1] * 4).makespan == 4.0
    s = simulate_smp([1, 1, 1, 1, 4], [1, 1])
    assert s.busy_share(0) == 1.0 and s.busy_share(1) == pytest.approx(1 / 3)


def test_simulation_is_deterministic():
    a = simulate_amp(sim.task_mix("equal tasks"), [1, 1, 2, 1], dispatch_cost=0.1)
    b = simulate_amp(sim.task_mix("equal tasks"), [1, 1, 2, 1], dispatch_cost=0.1)
    assert a.slices == b.slices
    assert "makespan" in str(a) and "core 0 (master, 1x)" in str(a)


@pytest.mark.parametrize("speeds, error, words", [
    ([], ValueError, "at least 1 core"),
    ([1, -2], ValueError, "speed of core 1"),
    ([1, 0], ValueError, "above 0"),
    ([1, float("nan")], TypeError, "finite"),
    ("fast", TypeError, "one speed per core"),
    ([1] * 65, ValueError, "more than"),
])
def test_bad_speeds(speeds, error, words):
    with pytest.raises(error, match=words):
        simulate_smp([1.0], speeds)


@pytest.mark.parametrize("tasks, words", [
    ([], "empty"), ([1, -1], "work of task 1"), ("abc", "as a list"), ([True], "finite"),
    ([1.0] * 10_001, "more than"),
])
def test_bad_tasks(tasks, words):
    with pytest.raises((ValueError, TypeError), match=words):
        simulate_smp(tasks, [1])


def test_bad_costs_and_names():
    with pytest.raises(ValueError, match="master and at least one worker"):
        simulate_amp([1.0], [1.0])
    with pytest.raises(ValueError, match="pick_cost"):
        simulate_smp([1], [1], pick_cost=-1)
    with pytest.raises(TypeError, match="dispatch_cost"):
        simulate_amp([1], [1, 1], dispatch_cost="0.1")
    with pytest.raises(ValueError, match="task mix"):
        sim.task_mix("nope")
    with pytest.raises(ValueError, match="n_cores must be at least 1"):
        sim.core_speeds(0)
    assert simulate_smp([Task(2.0)], [2.0]).makespan == 1.0


def test_panel_runs_without_clicks_and_follows_its_controls():
    panel = sim.SimulatorPanel()
    assert panel.figure.updates >= 1 and panel.text.value.startswith("<pre>SMP")
    panel.cores.value = 6  # a change re-runs the simulation
    assert len(panel.smp.speeds) == 6 and len(panel.amp.speeds) == 6
    panel.mix.value = "many short tasks"
    assert panel.update().startswith("SMP: makespan")


def test_gantt_figure_draws_every_schedule():
    smp = simulate_smp([1, 2], [1, 1], pick_cost=0.1)
    amp = simulate_amp([1, 2], [1, 1, 1], dispatch_cost=0.1)
    fig = sim.gantt_figure(smp, amp, titles=["one", "two"])
    assert [ax.get_title() for ax in fig.axes] == ["one", "two"]
    assert len(plots.to_png(fig)) > 1000

"""Tests for helpers.scheduling: the SMP/AMP simulator (known answers, bad input) and the real emulation."""

import math

import pytest

from helpers import affinity, launch, scheduling
from helpers.scheduling import Task, simulate_amp, simulate_smp


def tasks_on(schedule, core):
    return [s.task for s in schedule.slices if s.core == core and s.what == "task"]


# --------------------------------------------------------------------------- known answers, worked by hand


def test_smp_makespan_worked_by_hand():
    # Two peers share one queue: core 0 takes 3 (0-3), core 1 takes 1 (0-1), then 2 (1-3);
    # at t=3 both are free: core 0 takes 2 (3-5), core 1 takes 4 (3-7). Makespan 7.
    s = simulate_smp([3, 1, 2, 2, 4], [1, 1])
    assert s.makespan == 7.0
    assert tasks_on(s, 0) == [0, 3]
    assert tasks_on(s, 1) == [1, 2, 4]


def test_amp_master_plus_one_worker_worked_by_hand():
    # The single worker runs everything (12 s); only the first task waits for a dispatch,
    # the later dispatches happen while the worker is busy: 0.25 + 12 = 12.25.
    s = simulate_amp([3, 1, 2, 2, 4], [1, 1], dispatch_cost=0.25)
    assert s.makespan == 12.25
    assert tasks_on(s, 0) == []  # the master runs no task
    assert tasks_on(s, 1) == [0, 1, 2, 3, 4]
    assert s.busy_time(0) == 0.0


def test_load_imbalance_long_task_last():
    # 1+1 on each core, then core 0 gets the 4 s task: makespan 6 while core 1 idles from t=2.
    s = simulate_smp([1, 1, 1, 1, 4], [1, 1])
    assert s.makespan == 6.0
    assert s.busy_share(0) == 1.0
    assert s.busy_share(1) == pytest.approx(1 / 3)


def test_heterogeneous_cores_amp_puts_the_long_task_on_the_fast_core():
    tasks = [6.0] + [1.0] * 6
    speeds = [1.0, 1.0, 1.0, 2.0]
    smp = simulate_smp(tasks, speeds)
    amp = simulate_amp(tasks, speeds)
    assert smp.makespan == 6.0  # a slow peer took the long task first
    assert tasks_on(smp, 0)[0] == 0
    assert amp.makespan == 3.0  # the master sent it to the fast core: 6 / 2
    assert tasks_on(amp, 3) == [0]


def test_master_is_a_bottleneck_for_many_short_tasks():
    tasks = [0.125] * 32
    speeds = [1.0] * 4
    amp = simulate_amp(tasks, speeds, dispatch_cost=0.125)
    # one decision after another: the last dispatch ends at 32 x 0.125 = 4, its task then runs 0.125
    assert amp.makespan == 4.125
    smp = simulate_smp(tasks, speeds, pick_cost=0.125)
    # four peers pick in parallel: 8 tasks each x (0.125 + 0.125) = 2
    assert smp.makespan == 2.0


def test_master_failure_stops_all_later_work_but_an_smp_peer_failure_does_not():
    tasks = [1.0] * 12
    speeds = [1.0] * 4
    amp = simulate_amp(tasks, speeds, dispatch_cost=0.125, failure=(0, 1.0))
    assert amp.completed < len(tasks)
    assert math.isinf(amp.makespan)
    assert "never ran" in amp.summary()
    smp = simulate_smp(tasks, speeds, pick_cost=0.125, failure=(0, 1.0))
    assert smp.completed == len(tasks)
    assert math.isfinite(smp.makespan)
    assert all(s.end <= 1.0 for s in smp.slices if s.core == 0)


def test_smp_core_failure_requeues_the_running_task():
    s = simulate_smp([2.0, 2.0], [1, 1], failure=(0, 1.0))
    lost = [x for x in s.slices if x.what == "lost"]
    assert lost == [scheduling.Slice(0, 0.0, 1.0, "lost", 0)]
    # core 1 finishes task 1 at 2, then reruns task 0 from 2 to 4
    assert s.finish_times == {1: 2.0, 0: 4.0}


def test_amp_worker_failure_the_master_hands_the_task_to_another_worker():
    # core 1 starts task 0 at 0 and dies at 1; the master re-sends it to core 2, free at 2.
    s = simulate_amp([2.0, 2.0], [1, 1, 1], failure=(1, 1.0))
    assert [x for x in s.slices if x.what == "lost"] == [scheduling.Slice(1, 0.0, 1.0, "lost", 0)]
    assert s.finish_times == {1: 2.0, 0: 4.0}
    assert all(x.start < 1.0 for x in s.slices if x.core == 1)


def test_dedicated_io_core_answers_io_at_once():
    tasks = scheduling.task_mix("computing + I/O requests")
    speeds = [1.0] * 4
    amp = simulate_amp(tasks, speeds, io_core=1)
    io = [i for i, t in enumerate(tasks) if t.kind == "io"]
    assert sorted(tasks_on(amp, 1)) == io
    assert amp.io_response() == pytest.approx(0.125)
    smp = simulate_smp(tasks, speeds)
    assert smp.io_response() > 1.0  # requests wait behind long computations


def test_arrivals_are_respected():
    s = simulate_smp([Task(1.0, arrival=5.0)], [1])
    assert s.finish_times == {0: 6.0}


def test_simulation_is_deterministic():
    tasks = scheduling.task_mix("computing + I/O requests")
    a = simulate_amp(tasks, [1, 1, 2, 1], dispatch_cost=0.1)
    b = simulate_amp(tasks, [1, 1, 2, 1], dispatch_cost=0.1)
    assert a.slices == b.slices


# --------------------------------------------------------------------------- bad input


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


def test_amp_needs_a_master_and_a_worker():
    with pytest.raises(ValueError, match="master and at least one worker"):
        simulate_amp([1.0], [1.0])
    with pytest.raises(ValueError, match="io_core"):
        simulate_amp([1.0], [1.0, 1.0, 1.0], io_core=0)
    with pytest.raises(ValueError, match="master must be"):
        simulate_amp([1.0], [1.0, 1.0], master=5)


@pytest.mark.parametrize("tasks, words", [
    ([], "empty"),
    ([1, -1], "work of task 1"),
    ([Task(1.0, kind="gpu")], "kind"),
    ([Task(1.0, arrival=-1)], "arrival"),
])
def test_bad_tasks(tasks, words):
    with pytest.raises((ValueError, TypeError), match=words):
        simulate_smp(tasks, [1])


def test_bad_costs_and_failures():
    with pytest.raises(ValueError, match="pick_cost"):
        simulate_smp([1], [1], pick_cost=-1)
    with pytest.raises(ValueError, match="failing core"):
        simulate_smp([1], [1], failure=(3, 1.0))
    with pytest.raises(TypeError, match="core, time"):
        simulate_smp([1], [1], failure=3)
    with pytest.raises(ValueError, match="Unknown task mix"):
        scheduling.task_mix("nope")
    with pytest.raises(ValueError, match="at least 1 core"):
        scheduling.core_speeds(0)


# --------------------------------------------------------------------------- widget and pictures


def test_panel_runs_without_clicks_and_follows_its_controls():
    panel = scheduling.SimulatorPanel()
    text = panel.update()
    assert text.startswith("SMP") and "AMP" in text
    assert panel.figure.updates >= 1
    panel.cores.value = 6  # a change re-runs the simulation
    assert len(panel.smp.speeds) == 6 and len(panel.amp.speeds) == 6
    panel.fail.value = True
    assert panel.amp.failure == (0, 1.0)


def test_drawing_a_comparison():
    from helpers import plots

    fig = plots.figure()
    smp = simulate_smp([1, 2], [1, 1], failure=(0, 0.5))
    amp = simulate_amp([1, 2], [1, 1, 1], dispatch_cost=0.1)
    scheduling.draw_comparison(fig, smp, amp)
    assert len(plots.to_png(fig)) > 1000


# --------------------------------------------------------------------------- the real emulation


@pytest.mark.parametrize("design", scheduling.DESIGNS)
def test_emulation_runs_every_task_once_and_leaves_nothing_behind(design):
    result = scheduling.run_emulation(design, [5] * 6, timeout=60)
    assert sorted(r.task for r in result.runs) == list(range(6))
    assert sum(result.tasks_per_worker()) == 6
    assert result.makespan > 0
    assert all(0 <= r.start <= r.end <= result.makespan + 1e-9 for r in result.runs)
    if result.pinned:
        for r in result.runs:
            if r.core is not None:
                assert [r.core] == result.worker_cores[r.worker]
    if design == "AMP":
        assert len(result.dispatches) == 6
    assert launch.leftover_workers() == []


def test_emulation_under_spawn():
    result = scheduling.run_emulation("AMP", [3] * 3, timeout=60, start_method="spawn")
    assert result.start_method == "spawn"
    assert sorted(r.task for r in result.runs) == [0, 1, 2]
    assert launch.leftover_workers() == []


def test_emulation_timeout_stops_every_process():
    with pytest.raises(launch.RunTimeout):
        scheduling.run_emulation("SMP", [100_000] * 2, timeout=0.5)
    assert launch.leftover_workers() == []


def test_emulation_unpinned_says_so():
    result = scheduling.run_emulation("SMP", [2, 2], pin=False, timeout=60)
    assert not result.pinned and "not pinned" in result.note


def test_plan_cores_amp_keeps_the_first_core_for_the_master():
    master, workers, note = scheduling.plan_cores("AMP")
    allowed = affinity.allowed_cores()
    if affinity.pinning_supported() and allowed and len(allowed) > 1:
        assert master == [allowed[0]]
        assert all(w != master for w in workers)
        assert note == ""


@pytest.mark.parametrize("kwargs, error", [
    ({"design": "XMP", "task_units": [1]}, ValueError),
    ({"design": "SMP", "task_units": []}, ValueError),
    ({"design": "SMP", "task_units": [0]}, ValueError),
    ({"design": "SMP", "task_units": [1.5]}, ValueError),
    ({"design": "SMP", "task_units": [1], "n_workers": 0}, ValueError),
    ({"design": "SMP", "task_units": [1], "timeout": -1}, ValueError),
    ({"design": "AMP", "task_units": [1], "decision_units": -1}, ValueError),
])
def test_emulation_refuses_bad_input_before_starting(kwargs, error):
    with pytest.raises(error):
        scheduling.run_emulation(**kwargs)
    assert launch.leftover_workers() == []


def test_measure_designs_repeats_both():
    results = scheduling.measure_designs([2] * 2, repeats=2, warmup=False, timeout=60)
    assert [len(results[d]) for d in scheduling.DESIGNS] == [2, 2]
    with pytest.raises(ValueError):
        scheduling.measure_designs([2], repeats=0)


def test_exercise_check_accepts_the_hand_answers_only(capsys):
    scheduling.check_makespans(7.0, 12.25)
    right = capsys.readouterr().out
    assert right.count("Correct!") == 2
    scheduling.check_makespans(6.0, 12.0)
    wrong = capsys.readouterr().out
    assert wrong.count("Not yet.") == 2


def test_quiz_has_one_right_answer_per_question():
    for q in scheduling.quiz_questions():
        assert 0 <= q.answer < len(q.options)

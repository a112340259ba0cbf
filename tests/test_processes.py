"""Tests for helpers.processes: identities, the address-space demo, OS threads, creation cost, inheritance."""

from __future__ import annotations

import os
import statistics
import sys
import threading

import psutil
import pytest

from helpers import launch, processes, system

METHODS = system.start_methods()


def _children() -> list:
    return launch.leftover_workers()


@pytest.fixture(autouse=True)
def no_leftovers():
    before = {p.pid for p in _children()}
    yield
    left = [p for p in _children() if p.pid not in before]
    assert not left, f"a test left child processes running: {left}"


# --------------------------------------------------------------------------- address spaces


def test_thread_change_reaches_the_parent():
    result = processes.address_space_demo("threads", new_value=42)
    assert result.parent_after == 42
    assert result.parent_sees_change
    assert result.worker_pid == os.getpid()
    assert result.worker_tid != threading.get_native_id()


@pytest.mark.parametrize("method", METHODS)
def test_process_change_stays_in_the_child(method):
    result = processes.address_space_demo("processes", new_value=42, start_method=method)
    assert result.start_method == method
    assert result.worker_pid != os.getpid()
    assert result.worker_saw == 0  # a copy of the parent (fork) or a fresh import: both hold 0
    assert result.worker_set == 42
    assert result.parent_after == 0
    assert not result.parent_sees_change
    assert processes.counter == 0


def test_address_space_demo_resets_the_counter_first():
    processes.reset_counter(5)
    result = processes.address_space_demo("threads", new_value=-3)
    assert (result.parent_before, result.worker_saw, result.parent_after) == (0, 0, -3)
    processes.reset_counter()


@pytest.mark.parametrize("bad, error", [(0, ValueError), (True, TypeError), (4.2, TypeError),
                                        ("42", TypeError)])
def test_address_space_demo_refuses_bad_values(bad, error):
    with pytest.raises(error, match="new_value"):
        processes.address_space_demo("threads", new_value=bad)


def test_identities_refuses_bad_worker_counts():
    with pytest.raises(ValueError, match="at least 1 worker"):
        processes.identities("threads", 0)
    with pytest.raises(TypeError, match="whole number"):
        processes.identities("processes", "3")
    with pytest.raises(ValueError, match="'threads' or 'processes'"):
        processes.identities("fibres", 2)


def test_address_space_demo_refuses_unknown_mode_and_method():
    with pytest.raises(ValueError, match="'threads' or 'processes'"):
        processes.address_space_demo("fibers")
    with pytest.raises(ValueError, match="does not exist"):
        processes.address_space_demo("processes", start_method="teleport")


@pytest.mark.parametrize("method", METHODS)
def test_child_grows_only_its_own_list(method):
    before = list(processes.shared_list)
    run = launch.run(processes.grow_shared_list, [(99,)], "processes", start_method=method,
                     track_cores=False, show_progress=False)
    child_id, child_list = run.results[0]
    assert child_list == [1, 2, 3, 99]  # fork: a copy of ours; spawn/forkserver: a fresh import
    assert processes.shared_list == before  # the notebook's list did not change
    if method == "fork":
        assert child_id == id(processes.shared_list)  # same virtual address, different memory


@pytest.mark.parametrize("method", METHODS)
def test_identities_of_processes_and_threads(method):
    me = processes.report_identity()
    threads = processes.identities("threads", 3)
    procs = processes.identities("processes", 3, start_method=method)
    assert {w.pid for w in threads} == {me.pid}
    assert len({w.tid for w in threads} | {me.tid}) == 4
    assert all(w.object_id == me.object_id for w in threads)
    assert len({w.pid for w in procs} | {me.pid}) == 4
    if method == "fork":  # a forked child keeps the parent's virtual addresses
        assert all(w.object_id == me.object_id for w in procs)


# --------------------------------------------------------------------------- kernel threads


def test_idle_threads_are_os_threads_and_are_joined():
    with processes.idle_threads(3) as tids:
        assert len(set(tids)) == 3
        during = set(processes.os_thread_ids())
        if processes.ids_comparable():
            assert set(tids) <= during
    # join() returns when Python is done; the OS may list the thread a few ms longer
    after = set(processes._after_threads_end(set(tids)))
    assert not set(tids) & after, "idle threads must be joined when the with-block ends"
    assert not [t for t in threading.enumerate() if t.name.startswith("idle-")]


def test_kernel_threads_demo_sees_one_os_thread_per_python_thread():
    seen = processes.kernel_threads_demo(2)
    assert seen.each_is_an_os_thread
    assert len(seen.new_os_threads) >= 2


def test_idle_threads_refuses_bad_counts():
    with pytest.raises(ValueError):
        with processes.idle_threads(0):
            pass
    with pytest.raises(TypeError):
        with processes.idle_threads(2.5):
            pass


def test_os_thread_ids_of_a_missing_process():
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    with pytest.raises(ValueError, match="no process with pid"):
        processes.os_thread_ids(gone.pid)


def test_asyncio_tasks_share_one_os_thread():
    ids = processes.tasks_thread_ids(200)
    assert len(ids) == 1
    assert threading.get_native_id() not in ids  # the loop ran in its own helper thread
    with pytest.raises(ValueError, match="n_tasks"):
        processes.tasks_thread_ids(0)


# --------------------------------------------------------------------------- creation cost


def test_creation_costs_measures_every_kind(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    times = processes.creation_costs()
    assert list(times) == ["thread", *METHODS]
    for how, values in times.items():
        assert len(values) == processes.creation_repeats(how)
        assert all(v > 0 for v in values)


def test_creation_ratio_is_the_ratio_of_medians():
    times = {"thread": [1.0, 2.0, 9.0], "spawn": [10.0, 40.0, 50.0]}
    assert processes.creation_ratio(times, "spawn") == pytest.approx(40.0 / 2.0)
    assert processes.creation_ratio(times, "spawn") == statistics.median(times["spawn"]) / 2.0
    with pytest.raises(ValueError, match="no measured times for 'fork'"):
        processes.creation_ratio(times, "fork")


def test_creation_costs_refuses_unknown_kinds():
    with pytest.raises(ValueError, match="start method"):
        processes.creation_costs(["thread", "teleport"])
    with pytest.raises(ValueError, match="at least one"):
        processes.creation_costs([])


def test_creation_repeats_shrink_in_quick_mode(monkeypatch):
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    full = processes.creation_repeats("spawn")
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert 5 <= processes.creation_repeats("spawn") < full


# --------------------------------------------------------------------------- inheritance


@pytest.mark.parametrize("method", METHODS)
def test_inherited_state(method, tmp_path):
    view = processes.inherited_state(method)
    assert view.threads_in_parent >= 2  # the caller and the lock holder
    assert view.threads_in_child == 1
    if method == "fork":
        assert view.marker != processes.MARKER_AS_IMPORTED
        assert view.file_open_in_child
        assert not view.lock_free_in_child  # copied in its locked state, nobody to release it
        assert view.fork_warning == (sys.version_info >= (3, 12))
    else:
        assert view.marker == processes.MARKER_AS_IMPORTED
        assert not view.file_open_in_child
        assert view.lock_free_in_child
        assert not view.fork_warning
    # everything undone in the parent
    assert processes.marker == processes.MARKER_AS_IMPORTED
    assert not processes.demo_lock.locked()
    assert not [t for t in threading.enumerate() if t.name == "lock-holder"]


def test_inherited_state_removes_its_temporary_file():
    import tempfile

    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("course_inherit_")}
    processes.inherited_state(METHODS[0])
    after = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("course_inherit_")}
    assert after <= before


def test_inherited_state_refuses_bad_input():
    with pytest.raises(ValueError, match="does not exist"):
        processes.inherited_state("teleport")
    with pytest.raises(ValueError, match="lock_wait"):
        processes.inherited_state(METHODS[0], lock_wait=0)


def test_inheritance_table_has_one_row_per_method():
    views = [processes.ChildView("fork", "x", 3, 1, True, False, False),
             processes.ChildView("spawn", processes.MARKER_AS_IMPORTED, 3, 1, False, True, False)]
    lines = processes.inheritance_table(views).splitlines()
    assert len(lines) == 3
    assert "STILL HELD" in lines[1] and "inherited" in lines[1]
    assert "free" in lines[2] and "not there" in lines[2]


def test_draw_creation_costs_labels_every_kind():
    from helpers import plots

    times = {"thread": [1e-4, 2e-4, 3e-4], "fork": [2e-3, 3e-3], "spawn": [0.05, 0.07, 0.09]}
    fig = plots.figure()
    ax = fig.add_subplot()
    processes.draw_creation_costs(ax, times)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["thread", "process\n(fork)", "process\n(spawn)"]
    assert ax.get_yscale() == "log"
    assert "ms" in ax.get_ylabel()
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["0.20 ms", "2.5 ms", "70 ms"]  # the medians, printed from the data
    plots.to_png(fig)

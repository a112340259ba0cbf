"""Tests for helpers.processes: the OS's list of threads and the cost of creating workers."""

from __future__ import annotations

import sys
import threading

import psutil
import pytest

from helpers import processes, system

METHODS = system.start_methods()


def test_os_thread_ids_list_a_running_thread(nothing_left_running):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, args=(10,))
    t.start()
    try:
        ids = processes.os_thread_ids()
        if processes.ids_comparable():
            assert t.native_id in ids
            assert threading.get_native_id() in ids
        assert len(ids) >= 2
    finally:
        stop.set()
        t.join(10)


def test_os_thread_ids_of_a_missing_process():
    gone = psutil.Popen([sys.executable, "-c", "pass"])
    gone.wait(30)
    with pytest.raises(ValueError, match="no process with pid"):
        processes.os_thread_ids(gone.pid)


def test_creation_costs_measures_every_kind(monkeypatch, nothing_left_running):
    monkeypatch.setenv("COURSE_QUICK", "1")
    times = processes.creation_costs()
    assert list(times) == ["thread", *METHODS]
    for how, values in times.items():
        assert len(values) == processes.creation_repeats(how)
        assert all(v > 0 for v in values)


def test_creation_costs_refuses_unknown_kinds():
    with pytest.raises(ValueError, match="kinds must be one of 'thread', "):
        processes.creation_costs(["thread", "teleport"])
    with pytest.raises(ValueError, match="kinds needs at least 1"):
        processes.creation_costs([])
    with pytest.raises(TypeError, match="kinds must be a list"):
        processes.creation_costs("thread")
    with pytest.raises(TypeError, match="pid must be a whole number"):
        processes.os_thread_ids("3")


def test_creation_repeats_shrink_in_quick_mode(monkeypatch):
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    full = processes.creation_repeats("spawn")
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert 5 <= processes.creation_repeats("spawn") < full


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

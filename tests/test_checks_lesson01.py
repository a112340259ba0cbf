"""Tests for lesson 01's exercise checkers: the solutions pass, the typical mistakes get the right hint."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time

import pytest
import workers.lesson01 as w

from helpers import system
from helpers.checks import lesson01 as checks

METHODS = system.start_methods()
SPAWN = "spawn" in METHODS
pytestmark = pytest.mark.timeout(120)


def verdict(capsys, feedback) -> str:
    out = capsys.readouterr().out
    assert out.startswith("Correct!" if feedback else "Not yet.")
    return out


def as_if_typed_in_a_notebook(fn):
    """Make ``fn`` look like a function defined in a notebook cell (module __main__)."""
    fn.__module__ = "__main__"
    fn.__qualname__ = fn.__name__
    setattr(sys.modules["__main__"], fn.__name__, fn)
    return fn


# --------------------------------------------------------------------------- exercise 1


def start_and_report(n, method, *, start=True, join_threads=True, join_procs=True,
                     run_threads=False, run_procs=False, target=w.report_ids):
    """The solution, with switches for the typical mistakes."""
    ctx = mp.get_context(method)
    thread_reports = []

    def report():
        time.sleep(0.1)
        thread_reports.append((os.getpid(), threading.get_native_id()))

    q = ctx.Queue()
    threads = [threading.Thread(target=report) for _ in range(n)]
    procs = [ctx.Process(target=target, args=(q,)) for _ in range(n)]
    for t in threads:
        t.run() if run_threads else t.start() if start else None
    for p in procs:
        p.run() if run_procs else p.start()
    process_reports = [q.get(timeout=5) for _ in procs]
    if join_threads and not run_threads:
        for t in threads:
            t.join(timeout=10)
    if join_procs and not run_procs:
        for p in procs:
            p.join(timeout=10)
    return thread_reports, process_reports


def test_solution_passes(capsys, nothing_left_running):
    assert checks.check_start_and_report(start_and_report, 3)
    assert "Correct!" in capsys.readouterr().out


def test_untouched_skeleton_says_not_yet(capsys, nothing_left_running):
    def skeleton(n, method):
        thread_reports = []
        process_reports = ...
        return thread_reports, process_reports

    out = verdict(capsys, checks.check_start_and_report(skeleton))
    assert "replace it with your code" in out
    assert not checks.check_start_and_report(...)
    assert "Replace the ..." in capsys.readouterr().out


@pytest.mark.parametrize("mistake, hint", [
    (dict(start=False, join_threads=False), "call start() on each"),
    (dict(run_threads=True), "t.run() runs the target right there"),
    (dict(run_procs=True), "p.run() calls the target in the calling process"),
    (dict(join_procs=False), "never joined"),
])
def test_typical_mistakes_are_named(capsys, nothing_left_running, mistake, hint):
    def answer(n, method):
        return start_and_report(n, method, **mistake)

    out = verdict(capsys, checks.check_start_and_report(answer, 3))
    assert hint in out


def test_forgotten_thread_join_loses_reports(capsys, nothing_left_running):
    def answer(n, method):
        reports = []

        def report():
            time.sleep(0.1)
            reports.append((os.getpid(), threading.get_native_id()))

        threads = [threading.Thread(target=report) for _ in range(n)]
        for t in threads:
            t.start()
        return reports, []

    out = verdict(capsys, checks.check_start_and_report(answer))
    assert "t.join(timeout=...)" in out


def test_wrong_type_is_named(capsys, nothing_left_running):
    out = verdict(capsys, checks.check_start_and_report(lambda n, method: {"threads": []}))
    assert "Return two lists" in out
    out = verdict(capsys, checks.check_start_and_report(lambda n, method: ([1, 2], [])))
    assert "(pid, tid) pair" in out


def test_join_before_start_gets_a_hint(capsys, nothing_left_running):
    def answer(n, method):
        t = threading.Thread(target=print)
        t.join(timeout=1)

    out = verdict(capsys, checks.check_start_and_report(answer))
    assert "must be start()ed" in out


@pytest.mark.skipif(not SPAWN, reason="needs spawn")
def test_a_notebook_target_fails_under_spawn_with_a_clear_message(capsys, nothing_left_running):
    def report_from_cell(q):
        q.put((os.getpid(), threading.get_native_id()))

    target = as_if_typed_in_a_notebook(report_from_cell)

    def answer(n, method):
        return start_and_report(n, method, target=target)

    out = verdict(capsys, checks.check_start_and_report(answer, 2, method="spawn"))
    assert "cannot be found there" in out and "workers/lesson01.py" in out


# --------------------------------------------------------------------------- exercise 2


def parent_sees(thread_list, process_list, method, *, start=True, join=True, run_thread=False,
                run_proc=False, target=w.add_item):
    ctx = mp.get_context(method)
    t = threading.Thread(target=w.add_item, args=(thread_list, "thread"))
    p = ctx.Process(target=target, args=(process_list, "process"))
    if run_thread:
        t.run()
    elif start:
        t.start()
    p.run() if run_proc else p.start()
    if join:
        if start and not run_thread:
            t.join(timeout=10)
        if not run_proc:
            p.join(timeout=30)
    return p.exitcode


def test_parent_sees_solution_passes(capsys, nothing_left_running):
    assert checks.check_parent_sees(parent_sees)
    assert "Correct!" in capsys.readouterr().out


def test_parent_sees_skeleton_says_not_yet(capsys, nothing_left_running):
    def skeleton(thread_list, process_list, method):
        ...
        return ...

    out = verdict(capsys, checks.check_parent_sees(skeleton))
    assert "returned ..." in out


@pytest.mark.parametrize("mistake, hint", [
    (dict(start=False), "never appended"),
    (dict(join=False), "t.join(timeout=...)"),
    (dict(run_thread=True), "t.run() runs the target right there"),
    (dict(run_proc=True), "not in a child"),
])
def test_parent_sees_mistakes_are_named(capsys, nothing_left_running, mistake, hint):
    def answer(thread_list, process_list, method):
        return parent_sees(thread_list, process_list, method, **mistake)

    out = verdict(capsys, checks.check_parent_sees(answer))
    assert hint in out


def test_parent_sees_unjoined_process(capsys, nothing_left_running):
    def answer(thread_list, process_list, method):
        ctx = mp.get_context(method)
        t = threading.Thread(target=w.add_item, args=(thread_list, "thread"))
        t.start()
        t.join(timeout=10)
        p = ctx.Process(target=w.add_item, args=(process_list, "process"))
        p.start()
        return p.exitcode

    out = verdict(capsys, checks.check_parent_sees(answer))
    assert "never joined" in out


@pytest.mark.skipif(not SPAWN, reason="needs spawn")
def test_parent_sees_notebook_target_under_spawn(capsys, nothing_left_running):
    def add_in_cell(items, item):
        items.append(item)

    target = as_if_typed_in_a_notebook(add_in_cell)

    def answer(thread_list, process_list, method):
        return parent_sees(thread_list, process_list, method, target=target)

    out = verdict(capsys, checks.check_parent_sees(answer, method="spawn"))
    assert "exit code 1" in out and "cannot be found there" in out


def test_parent_sees_wrong_type_raises_and_never_returns(capsys, nothing_left_running, monkeypatch):
    out = verdict(capsys, checks.check_parent_sees(lambda a, b, m: "0"))
    assert "exit code, p.exitcode (a whole number)" in out
    out = verdict(capsys, checks.check_parent_sees(lambda a, b, m: None))
    assert "returned None" in out

    def raises(a, b, m):
        raise KeyError("oops")

    out = verdict(capsys, checks.check_parent_sees(raises))
    assert "raised KeyError" in out

    monkeypatch.setattr(checks, "TIMEOUT", 1.0)
    release = threading.Event()
    try:
        out = verdict(capsys, checks.check_parent_sees(lambda a, b, m: release.wait(30)))
        assert "did not finish within 1 s" in out
    finally:
        release.set()
    time.sleep(0.1)

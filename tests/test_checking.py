"""run_learner: hostile learner code ends with a clear message and leaves nothing behind."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time

import pytest

from helpers.checking import report, run_learner


def test_a_good_function_returns_its_value(nothing_left_running):
    out = run_learner(lambda x: x * 2, (21,))
    assert out.ok and out.value == 42


@pytest.mark.parametrize("placeholder", [..., None, 42])
def test_the_placeholder_gets_a_hint(placeholder):
    out = run_learner(placeholder)
    assert not out.ok and ("Replace the ..." in out.problem or "Expected a function" in out.problem)


def test_an_exception_is_named_with_its_line(nothing_left_running):
    def broken():
        return {}["missing"]

    out = run_learner(broken)
    assert not out.ok and "KeyError" in out.problem and 'return {}["missing"]' in out.problem


@pytest.mark.timeout(30)
def test_never_returns_ends_at_the_deadline_with_the_waiting_line():
    gate = threading.Event()

    def waits():
        gate.wait(3)

    t0 = time.perf_counter()
    out = run_learner(waits, timeout=0.3)
    assert time.perf_counter() - t0 < 2.5
    assert not out.ok and "did not finish within 0.3 s" in out.problem
    assert "gate.wait(3)" in out.problem
    gate.set()


def test_sys_exit_is_reported_not_obeyed(nothing_left_running):
    out = run_learner(lambda: sys.exit(2))
    assert not out.ok and "sys.exit(2)" in out.problem


@pytest.mark.timeout(30)
def test_an_unjoined_thread_is_reported():
    gate = threading.Event()

    def leaves_a_thread():
        threading.Thread(target=gate.wait, args=(3,), daemon=True).start()
        return "done"

    out = run_learner(leaves_a_thread, timeout=0.3)
    assert not out.ok and "left work running" in out.problem
    gate.set()


@pytest.mark.timeout(30)
def test_an_unjoined_process_is_stopped_and_reported(nothing_left_running):
    def leaves_a_process():
        mp.get_context("fork").Process(target=time.sleep, args=(30,)).start()

    out = run_learner(leaves_a_process, timeout=0.5)
    assert not out.ok and "stopped" in out.problem


def test_a_worker_process_that_calls_os_exit_is_just_a_process(nothing_left_running):
    def child_exits():
        p = mp.get_context("fork").Process(target=os._exit, args=(3,))
        p.start()
        p.join(5)
        return p.exitcode

    out = run_learner(child_exits)
    assert out.ok and out.value == 3


def test_prints_from_many_threads_do_not_break_the_check(nothing_left_running, capsys):
    def chatty():
        ts = [threading.Thread(target=print, args=(i,)) for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return len(ts)

    assert run_learner(chatty).value == 20


def test_report_prints_the_verdict(capsys):
    assert report(True, "well done")
    assert not report(False, "try a lock")
    out = capsys.readouterr().out
    assert "Correct! well done" in out and "Not yet. try a lock" in out


def test_quietly_returns_the_verdict_without_printing(capsys):
    from helpers.checking import quietly

    with quietly():
        assert report(True, "hidden praise")
    assert capsys.readouterr().out == ""
    with quietly():
        assert not report(False, "a failing solution still says why")
    assert "still says why" in capsys.readouterr().out
    report(True, "loud again")
    assert "loud again" in capsys.readouterr().out

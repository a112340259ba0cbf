"""Lesson 02's exercise checkers: the solutions pass, the typical wrong answers are rejected."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import queue
import threading
import time

import psutil
import pytest
import workers.lesson02 as w

from helpers import system
from helpers.checks import lesson02 as checks

ctx = mp.get_context(system.course_start_method())
CAN_PIN = hasattr(os, "sched_setaffinity")
needs_pinning = pytest.mark.skipif(not CAN_PIN, reason="this OS cannot pin processes")
pytestmark = [pytest.mark.usefixtures("nothing_left_running"), pytest.mark.timeout(90)]


def pin(process, cpu):
    if CAN_PIN:
        os.sched_setaffinity(process.pid, {cpu})


def look(p, seen):
    try:
        seen.append(psutil.Process(p.pid).cpu_num())
    except psutil.Error:
        pass


# --------------------------------------------------------------------------- exercise 1: pin_and_report


def pin_and_report(cpu):  # the solution
    p = ctx.Process(target=w.spin, args=(300_000,))
    p.start()
    os.sched_setaffinity(p.pid, {cpu})
    seen = []
    while p.is_alive():
        look(p, seen)
        time.sleep(0.005)
    p.join(timeout=10)
    return set(seen)


def not_pinned(cpu):
    p = ctx.Process(target=w.spin, args=(300_000,))
    p.start()
    seen = []
    while p.is_alive():
        look(p, seen)
        time.sleep(0.005)
    p.join(timeout=10)
    return {cpu}  # claims the right answer without pinning


def pins_the_parent(cpu):
    os.sched_setaffinity(0, {cpu})
    return pin_and_report(cpu)


def pins_the_main_process(cpu):
    os.sched_setaffinity(os.getpid(), {cpu})
    return pin_and_report(cpu)


def not_joined(cpu):
    p = ctx.Process(target=w.spin, args=(300_000,))
    p.start()
    os.sched_setaffinity(p.pid, {cpu})
    seen = []
    while p.is_alive():
        look(p, seen)
        time.sleep(0.005)
    return set(seen)


def returns_while_the_child_runs(cpu):
    p = ctx.Process(target=w.spin, args=(10**9,))
    p.start()
    os.sched_setaffinity(p.pid, {cpu})
    return {cpu}


def returns_a_number(cpu):
    pin_and_report(cpu)
    return cpu


def wrong_cpu(cpu):
    other = min(os.sched_getaffinity(0))
    p = ctx.Process(target=w.spin, args=(100_000,))
    p.start()
    os.sched_setaffinity(p.pid, {other} if other != cpu else {cpu, other})
    p.join(timeout=10)
    return {cpu}


RELEASE = threading.Event()


def never_returns(cpu):
    RELEASE.wait(30)  # "forever", until the test lets it go


@needs_pinning
def test_pin_solution_passes(capsys):
    assert checks.check_pin_and_report(pin_and_report)
    assert capsys.readouterr().out.startswith("Correct!")
    assert os.sched_getaffinity(0) == set(sorted(os.sched_getaffinity(0)))


@needs_pinning
@pytest.mark.parametrize("answer, words", [
    (not_pinned, "never pinned"),
    (pins_the_parent, "instead of the child"),
    (pins_the_main_process, "instead of the child"),
    (not_joined, "without joining"),
    (returns_while_the_child_runs, "still running when your function returned"),
    (returns_a_number, "returned int"),
])
def test_pin_wrong_answers_are_rejected(answer, words, capsys):
    before = os.sched_getaffinity(0)
    assert not checks.check_pin_and_report(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out
    assert os.sched_getaffinity(0) == before  # the check restored this Python's CPUs


@needs_pinning
@pytest.mark.skipif(CAN_PIN and len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")
def test_pin_to_the_wrong_cpu_is_named(capsys):
    assert not checks.check_pin_and_report(wrong_cpu)
    assert "the check asked for CPU" in capsys.readouterr().out


@needs_pinning
def test_pin_skeleton_and_never_returns(capsys, monkeypatch):
    def skeleton(cpu):
        ...

    assert not checks.check_pin_and_report(skeleton)
    assert "returned NoneType" in capsys.readouterr().out
    monkeypatch.setattr(checks, "PIN_TIMEOUT", 1.0)
    try:
        assert not checks.check_pin_and_report(never_returns)
    finally:
        RELEASE.set()
    assert "did not finish" in capsys.readouterr().out


def test_pin_is_skipped_without_affinity(monkeypatch, capsys):
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    assert checks.check_pin_and_report(pin_and_report)
    assert capsys.readouterr().out.startswith("Skipped.")


# --------------------------------------------------------------------------- exercise 2: run_smp


def run_smp(tasks, cpus):  # the solution
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    for p, cpu in zip(procs, cpus):
        p.start()
        pin(p, cpu)
    for task in tasks:
        shared.put(task)
    for _ in procs:
        shared.put(None)
    done = [results.get(timeout=30) for _ in tasks]
    for p in procs:
        p.join(timeout=10)
    return done


def one_sentinel_join_with_timeout(tasks, cpus):
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    for p in procs:
        p.start()
    for task in tasks:
        shared.put(task)
    shared.put(None)  # one sentinel for all the workers
    done = [results.get(timeout=30) for _ in tasks]
    for p in procs:
        p.join(timeout=1)
    return done


def one_sentinel_join_forever(tasks, cpus):
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    for p in procs:
        p.start()
    for task in tasks:
        shared.put(task)
    shared.put(None)
    done = [results.get(timeout=30) for _ in tasks]
    for p in procs:
        p.join()
    return done


def forgets_join(tasks, cpus):
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    for p in procs:
        p.start()
    for task in [*tasks, *[None] * len(procs)]:
        shared.put(task)
    done = [results.get(timeout=30) for _ in tasks]
    time.sleep(0.5)  # the workers have ended, but nobody joined them
    return done


def one_worker_does_all(tasks, cpus):
    inboxes, results = [ctx.Queue() for _ in cpus], ctx.Queue()  # a queue per worker ...
    procs = [ctx.Process(target=w.worker_loop, args=(i, q, results)) for i, q in enumerate(inboxes)]
    for p in procs:
        p.start()
    for task in tasks:
        inboxes[0].put(task)  # ... but every task into the first one
    for q in inboxes:
        q.put(None)
    done = [results.get(timeout=30) for _ in tasks]
    for p in procs:
        p.join(timeout=10)
    return done


def starts_one_worker(tasks, cpus):
    return run_smp(tasks, cpus[:1])


def first_worker_takes_all(tasks, cpus):
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    procs[0].start()
    for task in [*tasks, None]:
        shared.put(task)
    done = [results.get(timeout=30) for _ in tasks]
    procs[0].join(timeout=10)
    for p in procs[1:]:  # the others come too late
        p.start()
        shared.put(None)
    for p in procs[1:]:
        p.join(timeout=10)
    return done


def loses_results(tasks, cpus):
    return run_smp(tasks, cpus)[: len(tasks) // 2]


def waits_for_too_many_results(tasks, cpus):
    shared, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, shared, results)) for i in range(len(cpus))]
    for p in procs:
        p.start()
    for task in [*tasks, *[None] * len(procs)]:
        shared.put(task)
    # One result too many; the timeout is longer than the check's deadline.
    done = [results.get(timeout=6) for _ in range(len(tasks) + 1)]
    return done


def returns_nothing(tasks, cpus):
    run_smp(tasks, cpus)


def test_smp_solution_passes(capsys):
    assert checks.check_run_smp(run_smp)
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("answer, words", [
    (one_sentinel_join_with_timeout, "sentinel"),
    (forgets_join, "without joining"),
    (one_worker_does_all, "read different queues"),
    (starts_one_worker, "1 w.worker_loop process(es) were started"),
    (first_worker_takes_all, "All 12 tasks ran in worker 0"),
    (loses_results, "have no result"),
    (returns_nothing, "returned NoneType"),
])
def test_smp_wrong_answers_are_rejected(answer, words, capsys):
    assert not checks.check_run_smp(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out


def test_smp_hangs_end_at_the_deadline_with_a_hint(capsys, monkeypatch):
    monkeypatch.setattr(checks, "SMP_TIMEOUT", 4.0)
    t0 = time.perf_counter()
    assert not checks.check_run_smp(one_sentinel_join_forever)
    out = capsys.readouterr().out
    assert "did not finish" in out and "sentinel" in out
    assert not checks.check_run_smp(waits_for_too_many_results)
    out = capsys.readouterr().out
    assert "did not finish" in out and "one result per task" in out
    assert time.perf_counter() - t0 < 30
    for t in threading.enumerate():  # the stuck get() gives up after its own timeout
        if t.name == "your-code":
            t.join(10)
    gc.collect()  # the failed call's frames held its queues (and their feeder threads)


def test_the_worker_loop_runs_tasks_until_the_sentinel():
    inbox, results = queue.Queue(), queue.Queue()
    for item in [(0, 10), (1, 10), None, (2, 10)]:
        inbox.put(item)
    w.worker_loop(7, inbox, results)
    done = [results.get_nowait() for _ in range(2)]
    assert [(worker, task) for worker, task, _, _ in done] == [(7, 0), (7, 1)]
    assert inbox.get_nowait() == (2, 10)  # work after the sentinel is left alone


def test_the_master_deals_tasks_round_robin_then_one_sentinel_each():
    inboxes = [queue.Queue(), queue.Queue()]
    w.master([(i, 1) for i in range(5)], inboxes)
    got = [[q.get_nowait() for _ in range(q.qsize())] for q in inboxes]
    assert got == [[(0, 1), (2, 1), (4, 1), None], [(1, 1), (3, 1), None]]


# --------------------------------------------------------------------------- exercise 3: run_amp_dynamic


def run_amp_dynamic(tasks, cpus):  # the solution
    inboxes, results = [ctx.Queue() for _ in cpus], ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, q, results)) for i, q in enumerate(inboxes)]
    for p, cpu in zip(procs, cpus):
        p.start()
        pin(p, cpu)
    todo = list(tasks)
    for inbox in inboxes:
        if todo:
            inbox.put(todo.pop(0))
    done = []
    while len(done) < len(tasks):
        result = results.get(timeout=30)
        done.append(result)
        if todo:
            inboxes[result[0]].put(todo.pop(0))
    for inbox in inboxes:
        inbox.put(None)
    for p in procs:
        p.join(timeout=10)
    return done


def fixed_plan(tasks, cpus):  # round robin decided up front, like w.master
    inboxes, results = [ctx.Queue() for _ in cpus], ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, q, results)) for i, q in enumerate(inboxes)]
    for p in procs:
        p.start()
    for i, task in enumerate(tasks):
        inboxes[i % len(inboxes)].put(task)
    for inbox in inboxes:
        inbox.put(None)
    done = [results.get(timeout=30) for _ in tasks]
    for p in procs:
        p.join(timeout=10)
    return done


def dynamic_without_sentinels(tasks, cpus):
    inboxes, results = [ctx.Queue() for _ in cpus], ctx.Queue()
    procs = [ctx.Process(target=w.worker_loop, args=(i, q, results)) for i, q in enumerate(inboxes)]
    for p in procs:
        p.start()
    todo = list(tasks)
    for inbox in inboxes:
        inbox.put(todo.pop(0))
    done = []
    while len(done) < len(tasks):
        done.append(results.get(timeout=30))
        if todo:
            inboxes[done[-1][0]].put(todo.pop(0))
    for p in procs:
        p.join(timeout=1)
    return done


def test_dynamic_solution_passes(capsys):
    assert checks.check_run_amp_dynamic(run_amp_dynamic)
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("answer, words", [
    (fixed_plan, "waited in its queue behind task 0"),
    (run_smp, "share one queue"),
    (dynamic_without_sentinels, "sentinel"),
    (returns_nothing, "returned NoneType"),
])
def test_dynamic_wrong_answers_are_rejected(answer, words, capsys):
    assert not checks.check_run_amp_dynamic(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out

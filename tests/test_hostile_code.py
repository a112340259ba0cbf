"""Hostile learner code against every exercise checker (and the safety net under them).

Each checker in ``helpers/checks/`` (found automatically) is handed learner code that
never returns, raises, deadlocks, starts threads or processes and never joins them,
starts a process whose target spawn cannot import, prints from many threads, returns
the wrong type, mutates what it was given, exits a worker with ``os._exit``, calls
``sys.exit``, or blocks forever on ``queue.get()``. Every time the checker must

* return a "Not yet" verdict (never raise, never say "Correct") within its time limit,
* say something the learner can act on, and
* leave nothing behind: once the test releases what the hostile code waits on, no
  thread or child process of it remains, and the next check works.
"""

from __future__ import annotations

import importlib
import inspect
import multiprocessing as mp
import os
import pkgutil
import queue
import sys
import threading
import time

import pytest

import helpers.checks
from helpers import launch

#: Set by the test to let hostile code that "never returns" finish after the check.
RELEASE = threading.Event()
STUCK_QUEUE: queue.Queue = queue.Queue()
#: Every lock a "deadlocks" call made, so the test can free them afterwards.
DEADLOCK_LOCKS: list = []

#: A check must answer within its own time limit; none of the course's is above this (s).
LIMIT = 90.0


def _sleep_forever():
    RELEASE.wait(120)


def never_returns(*args, **kwargs):
    RELEASE.wait(120)


def raises(*args, **kwargs):
    raise RuntimeError("boom from the learner's code")


def deadlocks(*args, **kwargs):
    a, b = threading.Lock(), threading.Lock()
    DEADLOCK_LOCKS.extend([a, b])
    go = threading.Barrier(2)

    def one(first, second):
        with first:
            go.wait()
            second.acquire()  # never released: the test frees these locks from outside

    ts = [threading.Thread(target=one, args=(a, b)), threading.Thread(target=one, args=(b, a))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def leaves_a_thread(*args, **kwargs):
    threading.Thread(target=_sleep_forever, daemon=True).start()


def leaves_a_process(*args, **kwargs):
    mp.get_context("fork").Process(target=time.sleep, args=(60,)).start()


def spawn_cannot_import(*args, **kwargs):
    def local_target():
        pass

    p = mp.get_context("spawn").Process(target=local_target)
    p.start()
    p.join(10)


def prints_from_many_threads(*args, **kwargs):
    ts = [threading.Thread(target=print, args=(f"hello from thread {i}",)) for i in range(30)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def wrong_type(*args, **kwargs):
    return "banana"


def mutates_what_it_was_given(*args, **kwargs):
    for a in args:
        for method in ("clear",):
            if hasattr(a, method) and not isinstance(a, (threading.Event, type(threading.Lock()))):
                try:
                    getattr(a, method)()
                except Exception:
                    pass
    return None


def worker_calls_os_exit(*args, **kwargs):
    p = mp.get_context("fork").Process(target=os._exit, args=(3,))
    p.start()
    p.join(10)


def calls_sys_exit(*args, **kwargs):
    sys.exit(1)


def blocks_on_get(*args, **kwargs):
    return STUCK_QUEUE.get()


HOSTILE = [raises, leaves_a_process, spawn_cannot_import, prints_from_many_threads, wrong_type,
           mutates_what_it_was_given, worker_calls_os_exit, calls_sys_exit, never_returns,
           leaves_a_thread]
#: Checkers about locks and queues also meet the other ways of waiting forever.
WAITS = {"lesson05": [deadlocks], "lesson06": [blocks_on_get, deadlocks]}


def checkers():
    for info in pkgutil.iter_modules(helpers.checks.__path__):
        module = importlib.import_module(f"helpers.checks.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("check_") or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if any(p.default is p.empty for p in params[1:]):
                continue  # needs more than the learner's function (given by its own tests)
            yield info.name, name, fn


CASES = [pytest.param(fn, hostile, id=f"{lesson}.{name}-{hostile.__name__}")
         for lesson, name, fn in checkers()
         for hostile in HOSTILE + WAITS.get(lesson, [])]


def _release_everything():
    RELEASE.set()
    for _ in range(50):
        STUCK_QUEUE.put(None)
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline and any(lock.locked() for lock in DEADLOCK_LOCKS):
        for lock in DEADLOCK_LOCKS:
            if lock.locked():
                try:
                    lock.release()  # a plain Lock may be released by any thread
                except RuntimeError:
                    pass
        time.sleep(0.01)


@pytest.mark.timeout(LIMIT + 60)
@pytest.mark.parametrize("check, hostile", CASES)
def test_checker_survives_hostile_code(check, hostile, capsys):
    RELEASE.clear()
    threads_before = set(threading.enumerate())
    t0 = time.perf_counter()
    try:
        if "script" in inspect.signature(check).parameters:
            pytest.skip("takes a script, not a function (tests/test_checks_lesson07.py)")
        verdict = check(hostile)
        elapsed = time.perf_counter() - t0
        out = capsys.readouterr().out
    finally:
        _release_everything()
    assert elapsed < LIMIT, f"the check took {elapsed:.0f} s"
    assert verdict is not None and not verdict, f"hostile code was accepted: {out[-300:]}"
    assert "Not yet" in out, out[-500:]
    assert len(verdict.message) > 20, "the verdict says too little to act on"

    # Nothing may stay behind once the hostile code is released.
    deadline = time.perf_counter() + 10
    def extra_threads():
        return [t for t in threading.enumerate()
                if t not in threads_before and t.is_alive() and t.name != "QueueFeederThread"]
    while (extra_threads() or launch.leftover_workers()) and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert extra_threads() == [], [t.name for t in extra_threads()]
    assert launch.leftover_workers() == []
    DEADLOCK_LOCKS.clear()
    while not STUCK_QUEUE.empty():
        STUCK_QUEUE.get_nowait()


def test_every_lesson_with_exercises_has_checkers_under_test():
    lessons = {lesson for lesson, _, _ in checkers()}
    assert len(lessons) >= 6, lessons

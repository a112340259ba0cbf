"""Tests for helpers.checks.lesson06: each solution passes, each typical wrong answer is
rejected with the right hint, within the deadline, and nothing is left running."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from helpers.checks import lesson06 as checks

pytestmark = [pytest.mark.usefixtures("nothing_left_running"), pytest.mark.timeout(60)]


def verdict(capsys, feedback):
    out = capsys.readouterr().out
    assert out.startswith("Correct!" if feedback else "Not yet.")
    return out


# --------------------------------------------------------------------------- exercise 1


def consumer_ok(q, results):
    while True:
        item = q.get(timeout=5)
        if item is None:
            return
        results.append(item)


def consumer_no_sentinel(q, results):
    while True:
        results.append(q.get())


def consumer_skips_sentinel(q, results):
    while True:
        item = q.get()
        if item is not None:
            results.append(item)


def consumer_appends_sentinel(q, results):
    while True:
        item = q.get(timeout=5)
        results.append(item)
        if item is None:
            return


def consumer_stops_when_empty(q, results):
    while True:
        try:
            item = q.get(timeout=0.0001)
        except queue.Empty:
            return
        if item is None:
            return
        results.append(item)


def consumer_doubles(q, results):
    while True:
        item = q.get(timeout=5)
        if item is None:
            return
        results.append(item)
        if item % 50 == 0:
            results.append(item)


def consumer_spins(q, results):
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            continue
        if item is None:
            return
        results.append(item)


def consumer_raises(q, results):
    q.get(timeout=5)
    raise KeyError("oops")


def test_consumer_solution_passes(capsys):
    assert checks.check_consumer(consumer_ok)
    verdict(capsys, True)


def test_consumer_skeleton_says_not_yet(capsys):
    def consumer(q, results):
        ...   # your code here

    assert not checks.check_consumer(consumer)
    assert "Replace the ..." in verdict(capsys, False)


@pytest.mark.parametrize("fn, words", [
    (consumer_no_sentinel, "still waiting in q.get()"),
    (consumer_skips_sentinel, "still waiting in q.get()"),
    (consumer_appends_sentinel, "sentinel is a signal"),
    (consumer_stops_when_empty, "never reached results"),
    (consumer_doubles, "more than once"),
    (consumer_spins, "spins"),
    (consumer_raises, "KeyError"),
])
def test_consumer_wrong_answers_are_rejected(fn, words, capsys):
    t0 = time.monotonic()
    assert not checks.check_consumer(fn)
    assert words in verdict(capsys, False)
    assert time.monotonic() - t0 < checks.PATIENCE + 5


def test_deadline_queue_gives_up_and_counts_polls():
    q = checks.DeadlineQueue(deadline=time.monotonic() + 0.1)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)  # the learner's own timeout, before the deadline
    with pytest.raises(checks.GaveUp):
        q.get()
    assert q.empty_polls == 1 and q.gave_up == 1


# --------------------------------------------------------------------------- exercise 2


def use_ok(sem, pool, x):
    with sem:
        return pool.query(x)


def use_no_semaphore(sem, pool, x):
    return pool.query(x)


def use_own_semaphore(sem, pool, x):
    with threading.BoundedSemaphore(3):
        return pool.query(x)


def use_leaks_on_error(sem, pool, x):
    sem.acquire()
    result = pool.query(x)
    sem.release()
    return result


def use_releases_twice(sem, pool, x):
    with sem:
        result = pool.query(x)
    sem.release()
    return result


ONE_AT_A_TIME = threading.Lock()


def use_one_at_a_time(sem, pool, x):
    with ONE_AT_A_TIME:
        return pool.query(x)


def use_swallows(sem, pool, x):
    with sem:
        try:
            return pool.query(x)
        except ConnectionError:
            return None


def test_connection_solution_passes(capsys):
    assert checks.check_connection(use_ok)
    verdict(capsys, True)


def test_connection_skeleton_says_not_yet(capsys):
    def use_connection(sem, pool, x):
        ...   # your code here

    assert not checks.check_connection(use_connection)
    assert "Replace the ..." in verdict(capsys, False)


@pytest.mark.parametrize("fn, words", [
    (use_no_semaphore, "only 3 connections"),
    (use_own_semaphore, "only 3 connections"),
    (use_leaks_on_error, "never given back"),
    (use_releases_twice, "more often than acquire"),
    (use_one_at_a_time, "Only one user at a time"),
    (use_swallows, "returned None"),
])
def test_connection_wrong_answers_are_rejected(fn, words, capsys):
    assert not checks.check_connection(fn)
    assert words in verdict(capsys, False)


def test_deadline_semaphore_gives_up():
    sem = checks.DeadlineSemaphore(1, time.monotonic() + 0.1)
    assert sem.acquire()
    assert sem.acquire(timeout=0.01) is False
    with pytest.raises(checks.GaveUp):
        sem.acquire()
    sem.release()
    assert sem.free() == 1


# --------------------------------------------------------------------------- exercise 3


def phases_with(parties_extra=0, where="between", join=True, own_thread=True, timeout=None):
    def run_phases(n_workers, step, Barrier):
        barrier = Barrier(n_workers + parties_extra)

        def worker(me):
            if where == "before":
                barrier.wait(timeout)
            step(me, 1)
            if where == "between":
                barrier.wait(timeout)
            step(me, 2)

        if not own_thread:
            for me in range(n_workers):
                step(me, 1)
                step(me, 2)
            return
        threads = [threading.Thread(target=worker, args=(me,)) for me in range(n_workers)]
        for t in threads:
            t.start()
        if join:
            for t in threads:
                t.join(timeout=5)
    return run_phases


def test_phases_solution_passes(capsys):
    assert checks.check_phases(phases_with())
    verdict(capsys, True)


def test_phases_skeleton_says_not_yet(capsys):
    def run_phases(n_workers, step, Barrier):
        ...   # your code here

    assert not checks.check_phases(run_phases)
    assert "Replace the ..." in verdict(capsys, False)


@pytest.mark.parametrize("fn, words", [
    (phases_with(where="none"), "Nothing waited at the barrier"),
    (phases_with(where="before"), "not between the two phases"),
    (phases_with(parties_extra=1), "BrokenBarrierError"),
    (phases_with(parties_extra=1, timeout=0.3), "BrokenBarrierError"),
    (phases_with(join=False), "wait for every thread"),
    (phases_with(own_thread=False), "one thread per worker"),
])
def test_phases_wrong_answers_are_rejected(fn, words, capsys):
    old_hook = threading.excepthook
    assert not checks.check_phases(fn)
    assert words in verdict(capsys, False)
    assert threading.excepthook is old_hook  # restored


def test_phases_raising_worker_is_reported(capsys):
    def run_phases(n_workers, step, Barrier):
        t = threading.Thread(target=lambda: step(99, 1))
        t.start()
        t.join(5)

    assert not checks.check_phases(run_phases)
    assert "ValueError" in verdict(capsys, False)


def test_a_learner_function_that_never_returns_is_reported(capsys):
    def run_phases(n_workers, step, Barrier):
        threading.Event().wait(checks.PATIENCE + 4)  # ends by itself soon after the check

    t0 = time.monotonic()
    assert not checks.check_phases(run_phases)
    assert "did not finish" in verdict(capsys, False)
    assert time.monotonic() - t0 < checks.PATIENCE + 6

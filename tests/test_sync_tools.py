"""Tests for helpers.sync_tools: every example gives the right result, bad input is
refused before anything starts, and nothing is left running afterwards.

No test asserts a speed: the machine is shared and timings are noisy.
"""

from __future__ import annotations

import threading

import pytest

from helpers import launch, sync_tools, workloads

MODES = ["threads", "processes"]


pytestmark = pytest.mark.usefixtures("nothing_left_running")  # see conftest.py


# --------------------------------------------------------------------------- Queue


@pytest.mark.parametrize("mode", MODES)
def test_producer_consumer_consumes_every_item_once(mode):
    run = sync_tools.producer_consumer(n_items=30, queue_size=3, n_consumers=2,
                                       consume_time=0.004, mode=mode, timeout=30)
    assert run.each_consumed_once
    assert sorted(run.items) == list(range(30))
    assert sum(run.per_consumer) == 30
    assert len(run.put_waits) == 30
    # Consumers need 4 ms per item and the producer none: the full queue must have held it back.
    assert run.blocked_puts > 0
    assert run.largest_size <= 3


def test_producer_consumer_sizes_never_exceed_maxsize_and_are_recorded():
    run = sync_tools.producer_consumer(n_items=25, queue_size=2, n_consumers=1,
                                       consume_time=0.002, mode="threads")
    assert len(run.sizes) == 2 * 25  # one after each put, one after each get
    assert all(0 <= size <= 2 for _, size in run.sizes)
    assert run.largest_size == 2
    assert [t for t, _ in run.sizes] == sorted(t for t, _ in run.sizes)


def test_producer_consumer_processes_under_spawn(monkeypatch):
    monkeypatch.setenv("COURSE_START_METHOD", "spawn")
    run = sync_tools.producer_consumer(n_items=12, queue_size=2, n_consumers=2,
                                       consume_time=0.0, mode="processes")
    assert run.each_consumed_once
    assert set(run.per_consumer) <= set(range(13))


# --------------------------------------------------------------------------- Semaphore


@pytest.mark.parametrize("mode", MODES)
def test_connection_pool_peak_equals_pool_size(mode):
    run = sync_tools.connection_pool(n_users=6, pool_size=3, uses_per_user=2, hold_seconds=0.03,
                                     mode=mode)
    assert run.peak == 3
    assert len(run.in_use) == 2 * 6 * 2
    assert max(k for _, k in run.in_use) == 3
    assert run.in_use[-1][1] == 0  # every connection was given back
    assert len(run.waits) == 12 and all(w >= 0 for w in run.waits)


def test_connection_pool_bigger_than_users_is_limited_by_users():
    run = sync_tools.connection_pool(n_users=2, pool_size=5, uses_per_user=1, hold_seconds=0.02)
    assert run.peak <= 2


# --------------------------------------------------------------------------- Barrier


def test_next_phase_by_hand():
    assert sync_tools.next_phase([1, 2, 3]) == [6, 6, 6]
    assert sync_tools.expected_phases(4, 1) == [4 + 1 + 2, 1 + 2 + 3, 2 + 3 + 4, 3 + 4 + 1]


@pytest.mark.parametrize("mode", MODES)
def test_barrier_keeps_phases_in_order_and_result_right(mode):
    run = sync_tools.phase_computation(n_workers=4, phases=5, use_barrier=True, mode=mode)
    assert run.correct
    assert run.values == sync_tools.expected_phases(4, 5)
    assert run.phase_overlaps == 0
    assert 0 < run.span <= run.wall
    assert min(w[0][0] for w in run.times) >= 0
    for k in range(run.phases - 1):  # the same, spelled out
        assert max(w[k][1] for w in run.times) <= min(w[k + 1][0] for w in run.times)


def test_without_barrier_phases_overlap_and_result_goes_wrong():
    # Worker 3 needs 4x as long per phase as worker 0; nothing holds worker 0 back.
    for _ in range(3):  # a very loaded machine could, in theory, line them up by chance
        run = sync_tools.phase_computation(n_workers=4, phases=6, use_barrier=False, step=0.003)
        if run.phase_overlaps > 0 and not run.correct:
            break
    assert run.phase_overlaps > 0
    assert not run.correct


# --------------------------------------------------------------------------- RLock


def test_plain_lock_would_block_its_own_holder():
    r = sync_tools.reentry_demo("Lock", bills=(10, 20), balance=100, patience=0.1)
    assert not r.finished
    assert r.balance == 100  # nothing was paid
    assert "could not take the lock" in r.error
    assert r.seconds >= 0.1  # it really waited its patience before giving up
    assert r.other_thread_kept_out


def test_rlock_lets_its_owner_enter_again_but_keeps_others_out():
    r = sync_tools.reentry_demo("RLock", bills=(10, 20, 5), balance=100, patience=0.1)
    assert r.finished and r.error == ""
    assert r.balance == 65
    assert r.other_thread_kept_out


def test_wallet_refuses_to_overdraw():
    wallet = sync_tools.Wallet(10, threading.RLock())
    with pytest.raises(ValueError, match="cannot pay"):
        wallet.pay_all([5, 6])
    assert wallet.balance == 10


# --------------------------------------------------------------------------- Condition, Event


def test_condition_wait_for_wakes_when_predicate_holds():
    run = sync_tools.condition_demo(n_downloads=3, stagger=0.01)
    assert run.satisfied
    assert run.checks[0][2] is False  # checked once before anything finished
    assert run.checks[-1][1:] == (3, True)
    assert 2 <= len(run.checks) <= 4  # at most one re-check per notify_all
    assert len(run.finished_at) == 3
    assert run.woke_at >= max(run.finished_at)


def test_event_start_and_stop():
    run = sync_tools.event_demo(n_workers=3, run_seconds=0.05, tick=0.01)
    assert all(lag >= 0 for lag in run.start_lags)
    assert all(lag >= 0 for lag in run.stop_lags)
    assert all(r >= 1 for r in run.rounds)
    assert run.stop_at > run.signal_at


# --------------------------------------------------------------------------- bad input


BAD_INPUT = [
    (sync_tools.producer_consumer, {"n_items": 0}, ValueError, "n_items"),
    (sync_tools.producer_consumer, {"queue_size": -1}, ValueError, "queue_size"),
    (sync_tools.producer_consumer, {"n_consumers": True}, TypeError, "whole number"),
    (sync_tools.producer_consumer, {"n_consumers": 1000}, ValueError, "n_consumers"),
    (sync_tools.producer_consumer, {"mode": "fibers"}, ValueError, "threads' or 'processes"),
    (sync_tools.producer_consumer, {"timeout": 0}, ValueError, "timeout"),
    (sync_tools.producer_consumer, {"consume_time": "fast"}, TypeError, "seconds"),
    (sync_tools.connection_pool, {"pool_size": 0}, ValueError, "pool_size"),
    (sync_tools.connection_pool, {"n_users": 2.5}, TypeError, "whole number"),
    (sync_tools.connection_pool, {"hold_seconds": 60}, ValueError, "hold_seconds"),
    (sync_tools.phase_computation, {"n_workers": 1}, ValueError, "at least 2"),
    (sync_tools.phase_computation, {"phases": 100}, ValueError, "phases"),
    (sync_tools.phase_computation, {"use_barrier": "yes"}, TypeError, "True or False"),
    (sync_tools.reentry_demo, {"kind": "Mutex"}, ValueError, "'Lock' or 'RLock'"),
    (sync_tools.reentry_demo, {"bills": (5, -1)}, ValueError, "bills"),
    (sync_tools.condition_demo, {"n_downloads": 0}, ValueError, "n_downloads"),
    (sync_tools.event_demo, {"tick": -1}, ValueError, "tick"),
]


@pytest.mark.parametrize("fn, kwargs, error, words", BAD_INPUT)
def test_bad_input_is_refused_before_anything_starts(fn, kwargs, error, words, monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    with pytest.raises(error, match=words):
        fn(**kwargs)
    assert started == []
    assert launch.leftover_workers() == []


# --------------------------------------------------------------------------- runners


def test_run_threads_reports_a_stuck_thread_as_timeout():
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError, match="did not finish"):
            sync_tools.run_threads(release.wait, [(5.0,)], timeout=0.1)
    finally:
        release.set()
        for t in threading.enumerate():
            if t.name.startswith("worker-"):
                t.join(5.0)


def test_run_threads_reraises_a_worker_error():
    with pytest.raises(RuntimeError, match="worker 0 failed: ValueError"):
        sync_tools.run_threads(workloads.crash_with_exception, [("boom",)], timeout=5)


def test_run_processes_stops_a_process_that_takes_too_long():
    import multiprocessing as mp

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with pytest.raises(TimeoutError, match="were stopped"):
        sync_tools.run_processes(workloads.sleep_for, [(10.0,)], timeout=0.2, ctx=ctx)
    assert launch.leftover_workers() == []


# --------------------------------------------------------------------------- exercises


def good_consumer(q, eaten):
    while True:
        item = q.get(timeout=5)
        if item is sync_tools.SENTINEL:
            return
        eaten.append(item)


def never_stops(q, eaten):
    while True:
        eaten.append(q.get())


def eats_the_sentinel(q, eaten):
    while True:
        item = q.get(timeout=5)
        eaten.append(item)
        if item is sync_tools.SENTINEL:
            return


def crashes(q, eaten):
    raise KeyError("oops")


def test_check_consumer_accepts_a_correct_consumer(capsys):
    assert sync_tools.check_consumer(good_consumer)
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("consumer, words", [
    (never_stops, "still waiting"),
    (eats_the_sentinel, "sentinel ended up"),
    (crashes, "raised KeyError"),
])
def test_check_consumer_rejects_broken_consumers(consumer, words, capsys):
    verdict = sync_tools.check_consumer(consumer, timeout=0.3)
    assert not verdict
    assert words in verdict.message
    assert capsys.readouterr().out.startswith("Not yet.")


def test_check_consumer_counts_only_real_items_for_a_consumer_that_never_stops():
    verdict = sync_tools.check_consumer(never_stops, n_items=5, timeout=0.3)
    assert "5 of 5 items" in verdict.message


def test_check_consumer_wants_a_function():
    with pytest.raises(TypeError, match="consumer function"):
        sync_tools.check_consumer(42)


def test_check_peak_compares_with_the_measured_peak(capsys):
    run = sync_tools.PoolRun("threads", 8, 3, 3, [], [], 0.1)
    assert sync_tools.check_peak(3, run)
    assert not sync_tools.check_peak(8, run)
    assert not sync_tools.check_peak(..., run)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Correct!") and out[1].startswith("Not yet.")

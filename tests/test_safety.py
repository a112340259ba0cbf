"""The safety net: a watch block joins what it started, stops strays, and names stuck threads."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time

import pytest

from helpers import system
from helpers.safety import Stuck, is_running, stack_of, watch
from helpers.source import show, source_of


def test_a_block_that_joins_everything_passes(nothing_left_running):
    seen = []
    with watch(timeout=5):
        threads = [threading.Thread(target=seen.append, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=5)
    assert sorted(seen) == [0, 1, 2, 3]


def test_threads_left_unjoined_are_waited_for(nothing_left_running):
    done = []
    with watch(timeout=5):
        threading.Thread(target=lambda: (time.sleep(0.2), done.append(1))).start()
    assert done == [1]  # the watch joined it before leaving


@pytest.mark.timeout(30)
def test_a_deadlock_is_reported_with_the_line_each_thread_waits_on():
    a, b = threading.Lock(), threading.Lock()
    release = threading.Event()

    def one():
        with a:
            release.wait(0.1)
            b.acquire(timeout=3)  # the line the report must name

    def two():
        with b:
            release.wait(0.1)
            a.acquire(timeout=3)

    t0 = time.perf_counter()
    with pytest.raises(Stuck) as info:
        with watch(timeout=0.5):
            for f in (one, two):
                threading.Thread(target=f, name=f.__name__, daemon=True).start()
    assert time.perf_counter() - t0 < 2.5
    assert sorted(info.value.threads) == ["one", "two"]
    assert "b.acquire(timeout=3)" in info.value.stacks["one"]
    assert "a.acquire(timeout=3)" in info.value.stacks["two"]
    assert "timeout" in str(info.value)


@pytest.mark.timeout(30)
def test_a_blocked_main_thread_is_interrupted_and_told_where():
    never = threading.Event()
    t0 = time.perf_counter()
    with pytest.raises(Stuck) as info:
        with watch(timeout=0.3):
            never.wait()
    assert time.perf_counter() - t0 < 3
    assert "never.wait()" in str(info.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", system.start_methods())
def test_a_stray_process_is_stopped_and_named(method, nothing_left_running):
    ctx = mp.get_context(method)
    with pytest.raises(Stuck) as info:
        with watch(timeout=1 if method == "fork" else 5):
            p = ctx.Process(target=time.sleep, args=(60,))
            p.start()
    assert info.value.processes == [p.pid]
    assert "join()" in str(info.value)
    p.join(timeout=5)
    assert not p.is_alive()


def test_an_error_in_the_block_passes_through(nothing_left_running):
    with pytest.raises(ZeroDivisionError):
        with watch(timeout=2):
            _ = 1 / 0


@pytest.mark.parametrize("bad", [0, -1, "10", None, True, 10_000])
def test_a_bad_timeout_is_refused(bad):
    with pytest.raises((TypeError, ValueError), match="timeout"):
        with watch(timeout=bad):
            pass


def test_stack_of_a_finished_thread():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    assert not is_running(t)
    assert "ended" in stack_of(t)


def test_source_of_a_function_and_a_refusal(capsys):
    assert "def test_source_of_a_function" in source_of(test_source_of_a_function_and_a_refusal)
    with pytest.raises(TypeError, match="Cannot show"):
        source_of(42)
    with pytest.raises(ValueError, match=".py"):
        source_of("no_such_file.txt")
    show(is_running)
    assert "def is_running" in capsys.readouterr().out


def test_a_multiprocessing_queue_used_in_the_block_is_not_a_stuck_thread(nothing_left_running):
    q = mp.get_context("fork").Queue()
    with watch(timeout=2):
        q.put("hello")  # starts the queue's feeder thread, which lives as long as the queue
        assert q.get(timeout=2) == "hello"
    q.close()
    q.join_thread()


@pytest.mark.timeout(30)
def test_grace_caps_the_wait_for_leftovers_after_the_block():
    gate = threading.Event()
    t0 = time.perf_counter()
    with pytest.raises(Stuck):
        with watch(timeout=20, grace=0.3):
            threading.Thread(target=gate.wait, args=(10,), daemon=True).start()
    assert time.perf_counter() - t0 < 3
    gate.set()

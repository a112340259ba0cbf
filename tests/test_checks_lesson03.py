"""Tests for helpers.checks.lesson03: the checkers accept right answers and name each typical mistake.

No test asserts a speed: the checkers measure speed themselves, and these
tests only look at their verdicts, which are built to hold on a busy machine.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from helpers import system
from helpers.checks import lesson03 as checks


def method() -> str:
    return system.course_start_method()


# --------------------------------------------------------------------------- fetch_all (threads)


def fetch_pool(fetch, urls, n_threads):
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(fetch, urls))


def fetch_threads(fetch, urls, n_threads):
    pages = [None] * len(urls)

    def worker(first):
        for i in range(first, len(urls), n_threads):
            pages[i] = fetch(urls[i])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return pages


def fetch_skeleton(fetch, urls, n_threads):
    ...


def fetch_serial(fetch, urls, n_threads):
    return [fetch(u) for u in urls]


def fetch_join_each(fetch, urls, n_threads):
    pages = [None] * len(urls)

    def work(i):
        pages[i] = fetch(urls[i])

    for i in range(len(urls)):
        t = threading.Thread(target=work, args=(i,))
        t.start()
        t.join()
    return pages


def fetch_no_join(fetch, urls, n_threads):
    pages = [None] * len(urls)

    def worker(first):
        for i in range(first, len(urls), n_threads):
            pages[i] = fetch(urls[i])

    for k in range(n_threads):
        threading.Thread(target=worker, args=(k,)).start()
    return pages


def fetch_finishing_order(fetch, urls, n_threads):
    pages = []

    def worker(first):
        for i in range(first, len(urls), n_threads):
            pages.append(fetch(urls[i]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return pages


def fetch_one_thread_per_url(fetch, urls, n_threads):
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return list(pool.map(fetch, urls))


def fetch_generator(fetch, urls, n_threads):
    pool = ThreadPoolExecutor(max_workers=n_threads)
    try:
        return pool.map(fetch, urls)
    finally:
        pool.shutdown(wait=True)


def fetch_raises(fetch, urls, n_threads):
    raise KeyError("oops")


def fetch_never_returns(fetch, urls, n_threads):
    threading.Event().wait(3)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("answer", [fetch_pool, fetch_threads])
def test_fetch_all_right_answers_pass(answer, capsys, nothing_left_running):
    assert checks.check_fetch_all(answer)
    assert "Correct!" in capsys.readouterr().out


@pytest.mark.timeout(60)
@pytest.mark.parametrize("answer, words", [
    (fetch_skeleton, "returned None"),
    (fetch_serial, "plain loop"),
    (fetch_join_each, "never two at the same time"),
    (fetch_no_join, "missing"),
    (fetch_finishing_order, "wrong order"),
    (fetch_one_thread_per_url, "n_threads was 4"),
    (fetch_generator, "generator"),
    (fetch_raises, "KeyError"),
])
def test_fetch_all_wrong_answers_are_named(answer, words, capsys, nothing_left_running):
    assert not checks.check_fetch_all(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out


@pytest.mark.timeout(60)
def test_fetch_all_that_never_returns_is_stopped_in_time(capsys):
    t0 = time.perf_counter()
    assert not checks.check_fetch_all(fetch_never_returns, timeout=1.0)
    assert time.perf_counter() - t0 < 10
    assert "did not finish within 1 s" in capsys.readouterr().out


def test_fake_server_counts_overlap():
    server = checks.FakeServer({"a": 0.05, "b": 0.05})
    threads = [threading.Thread(target=server.fetch, args=(u,)) for u in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert server.calls == 2 and server.most_at_once == 2 and len(server.callers) == 2


# --------------------------------------------------------------------------- spin_all (processes)


def spin_pool(shares, n_processes):
    import workers.lesson03 as w

    with ProcessPoolExecutor(max_workers=n_processes, mp_context=mp.get_context(method())) as pool:
        return list(pool.map(w.spin, shares))


def spin_processes(shares, n_processes):
    import workers.lesson03 as w

    ctx = mp.get_context(method())
    queue = ctx.Queue()
    procs = [ctx.Process(target=w.spin_into, args=(queue, i, s)) for i, s in enumerate(shares)]
    for p in procs:
        p.start()
    got = dict(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=10)
    return [got[i] for i in range(len(shares))]


def spin_skeleton(shares, n_processes):
    ...


def spin_threads(shares, n_processes):
    import workers.lesson03 as w

    with ThreadPoolExecutor(max_workers=n_processes) as pool:
        return list(pool.map(w.spin, shares))


def spin_plain(shares, n_processes):
    import workers.lesson03 as w

    return [w.spin(s) for s in shares]


def spin_no_shutdown(shares, n_processes):
    import workers.lesson03 as w

    pool = ProcessPoolExecutor(max_workers=n_processes, mp_context=mp.get_context(method()))
    return list(pool.map(w.spin, shares))


def spin_join_each(shares, n_processes):
    import workers.lesson03 as w

    ctx = mp.get_context(method())
    queue = ctx.Queue()
    got = {}
    for i, s in enumerate(shares):
        p = ctx.Process(target=w.spin_into, args=(queue, i, s))
        p.start()
        index, value = queue.get(timeout=60)
        got[index] = value
        p.join(timeout=10)
    return [got[i] for i in range(len(shares))]


def spin_wrong(shares, n_processes):
    return [0] * len(shares)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("answer", [spin_pool, spin_processes])
def test_spin_all_right_answers_pass(answer, capsys, nothing_left_running):
    assert checks.check_spin_all(answer)
    assert "Correct!" in capsys.readouterr().out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("answer, words", [
    (spin_skeleton, "returned None"),
    (spin_threads, "used threads, not processes"),
    (spin_plain, "No child process was started"),
    (spin_no_shutdown, "not been shut down"),
    (spin_wrong, "Result 0 is 0"),
])
def test_spin_all_wrong_answers_are_named(answer, words, capsys, nothing_left_running):
    assert not checks.check_spin_all(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out


@pytest.mark.timeout(120)
def test_spin_all_threads_message_adapts_without_gil(monkeypatch, capsys, nothing_left_running):
    monkeypatch.setattr(system, "gil_enabled", lambda: False)
    assert not checks.check_spin_all(spin_threads)
    assert "free-threaded" in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_spin_all_processes_one_after_another_are_rejected(capsys, nothing_left_running):
    if system.usable_cpus() < 2:
        pytest.skip("with 1 usable CPU no speedup is asked for")
    assert not checks.check_spin_all(spin_join_each)
    out = capsys.readouterr().out
    assert "never two of them" in out or "What makes your processes wait" in out, out


@pytest.mark.timeout(120)
def test_spin_all_on_one_cpu_asks_no_speedup(monkeypatch, capsys, nothing_left_running):
    monkeypatch.setattr(system, "usable_cpus", lambda: 1)
    assert checks.check_spin_all(spin_join_each)
    assert "1 usable CPU" in capsys.readouterr().out


def _spin_cell(steps):
    return steps


@pytest.mark.timeout(120)
def test_spin_all_with_a_notebook_target_under_spawn_says_why(monkeypatch, capsys,
                                                             nothing_left_running):
    if "spawn" not in mp.get_all_start_methods():
        pytest.skip("no spawn here")
    monkeypatch.setenv(system.START_METHOD_ENV, "spawn")
    # A function that, like one typed into a notebook cell, lives in __main__.
    monkeypatch.setattr(_spin_cell, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "_spin_cell", _spin_cell, raising=False)

    def answer(shares, n_processes):
        with ProcessPoolExecutor(n_processes, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(_spin_cell, shares))

    assert not checks.check_spin_all(answer)
    out = capsys.readouterr().out
    assert "imports its target by name" in out and "workers/lesson03.py" in out, out


def test_cpu_job_is_balanced_and_sized():
    shares = checks.cpu_job(seconds=0.1, parts=8)
    assert len(shares) == 8 and len(set(shares)) == 1 and shares[0] >= 1000


def spin_one_worker_does_all(shares, n_processes):
    import workers.lesson03 as w

    with ProcessPoolExecutor(max_workers=n_processes, mp_context=mp.get_context(method())) as pool:
        return list(pool.map(w.spin, shares, chunksize=len(shares)))


@pytest.mark.timeout(120)
def test_spin_all_with_all_work_in_one_process_is_rejected(capsys, nothing_left_running):
    assert not checks.check_spin_all(spin_one_worker_does_all)
    out = capsys.readouterr().out
    assert "one child process did" in out, out


def test_expected_spin_matches_the_worker():
    import workers.lesson03 as w

    for steps in (0, 1, 6, 7, 8, 100, 12_345):
        assert checks.expected_spin(steps) == w.spin(steps)


def spin_exits(shares, n_processes):
    sys.exit(3)


_STUCK = __import__("queue").Queue()


def spin_blocks_on_a_queue(shares, n_processes):
    _STUCK.get()  # no timeout: blocks until the test lets it go


@pytest.mark.timeout(60)
def test_spin_all_that_exits_or_blocks_is_reported_in_time(capsys, nothing_left_running):
    assert not checks.check_spin_all(spin_exits)
    assert "sys.exit(3)" in capsys.readouterr().out
    t0 = time.perf_counter()
    try:
        assert not checks.check_spin_all(spin_blocks_on_a_queue, timeout=1.0)
        assert time.perf_counter() - t0 < 15
    finally:
        _STUCK.put(None)  # a thread cannot be killed: let it end, so nothing is left
    out = capsys.readouterr().out
    assert "did not finish within 1 s" in out and "get()" in out, out

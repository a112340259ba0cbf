"""Tests for helpers.checks.lesson07: the solutions pass, typical wrong answers get the right hint."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from helpers import capstone, system
from helpers.checks import lesson07 as checks

HEAD = '''
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from workers.lesson07 import square
'''
GOOD = HEAD + '''
if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        print(sum(pool.map(square, range(10_000), chunksize=500)))
'''


def verdict(capsys, feedback) -> str:
    out = capsys.readouterr().out
    assert out.strip() == str(feedback)
    return out


@pytest.mark.timeout(60)
def test_the_solution_script_passes(capsys, nothing_left_running):
    feedback = checks.check_pool_script(GOOD)
    assert feedback, verdict(capsys, feedback)
    assert "333283335000" in verdict(capsys, feedback)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("script, words", [
    (GOOD.replace('if __name__ == "__main__":', "if True:"), "bootstrapping phase"),
    (GOOD.replace("pool.map(square", "pool.map(lambda x: x * x"), "no such name"),
    (GOOD.replace("    ctx =", "    def sq(x):\n        return x * x\n    ctx =")
         .replace("pool.map(square", "pool.map(sq"), "no such name"),
    (GOOD.replace("print(sum(", "print(max("), "last printed line"),
    (GOOD + "    raise SystemExit(3)\n", "exit code 3"),
    (GOOD.replace("get_context(\"spawn\")", "get_context()"), "spawn"),
    (HEAD + "\nprint(sum(square(x) for x in range(10_000)))\n", "spawn"),
    ("print(333283335000)\n", "ProcessPoolExecutor"),
    (HEAD + "\n...  # your code here\n", "Replace the ..."),
    (..., "Replace the ..."),
    (None, "Replace the ..."),
])
def test_wrong_scripts_are_rejected_with_a_hint(capsys, nothing_left_running, script, words):
    feedback = checks.check_pool_script(script)
    out = verdict(capsys, feedback)
    assert not feedback
    assert out.startswith("Not yet.")
    assert words in out


@pytest.mark.timeout(60)
def test_a_hanging_script_is_stopped_with_its_workers(capsys, nothing_left_running):
    hang = GOOD.replace("print(sum(", "import time\n        time.sleep(600)\n        print(sum(")
    hang = hang.replace("with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:",
                        "with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:\n"
                        "        pool.submit(square, 1).result()")
    t0 = time.perf_counter()
    feedback = checks.check_pool_script(hang, timeout=4)
    assert not feedback
    assert "still running after 4 s" in verdict(capsys, feedback)
    assert time.perf_counter() - t0 < 15


@pytest.mark.timeout(60)
def test_a_script_that_leaves_a_process_behind_is_rejected(capsys, nothing_left_running):
    orphan = GOOD + ("    import subprocess, sys\n"
                     "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n")
    run = checks.run_script(orphan, timeout=30)
    assert run.returncode == 0 and run.leftovers == 1
    feedback = checks.check_pool_script(orphan)
    assert not feedback and "left processes running" in verdict(capsys, feedback)


def test_run_script_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="text"):
        checks.run_script(42)


# --------------------------------------------------------------------------- the capstone


@pytest.fixture(scope="module")
def job():
    return capstone.Job(0, 50, capstone.make_corpus(400, 50, seed=1))


def by_processes(docs):
    import multiprocessing as mp

    import workers.lesson07 as w

    total = Counter()
    ctx = mp.get_context(system.course_start_method())
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        for part in pool.map(w.count_words, w.split_into_chunks(docs, 2), timeout=60):
            total.update(part)
    return total


def by_threads(docs):
    import workers.lesson07 as w

    with ThreadPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(w.count_words, w.split_into_chunks(docs, 2)), Counter())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("solution", [by_processes, by_threads])
def test_parallel_word_counts_pass(capsys, nothing_left_running, job, solution):
    feedback = checks.check_word_count(solution, job, repeats=2)
    out = verdict(capsys, feedback)
    assert feedback, out
    assert "reference process pool" in out


def _threads_then(transform):
    """A thread-pool count whose chunks or result are changed by ``transform`` (a wrong answer)."""
    import workers.lesson07 as w

    def count(docs):
        with ThreadPoolExecutor(max_workers=2) as pool:
            return transform(docs, list(pool.map(w.count_words, w.split_into_chunks(docs, 2))))
    return count


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fn, words", [
    (_threads_then(lambda docs, parts: parts[0]), "Was every chunk counted"),
    (_threads_then(lambda docs, parts: parts[0] + parts[0] + parts[1]), "more than once"),
    (_threads_then(lambda docs, parts: Counter(" ".join(docs).split())), "some words differ"),
    (_threads_then(lambda docs, parts: list(parts)), "Counter"),
    (_threads_then(lambda docs, parts: None), "returned None"),
    (_threads_then(lambda docs, parts: 1 / 0), "ZeroDivisionError"),
    (lambda docs: __import__("workers.lesson07").lesson07.count_words(docs), "one thread"),
    (..., "Replace the ..."),
])
def test_wrong_word_counts_are_rejected(capsys, nothing_left_running, job, fn, words):
    feedback = checks.check_word_count(fn, job, repeats=1)
    out = verdict(capsys, feedback)
    assert not feedback
    assert words in out


@pytest.mark.timeout(60)
def test_a_count_that_never_returns_is_reported_in_time(capsys, nothing_left_running, job):
    release = threading.Event()

    def stuck(docs):
        release.wait()  # no timeout: the mistake under test

    try:
        feedback = checks.check_word_count(stuck, job, timeout=1)
    finally:
        release.set()
    assert not feedback
    assert "did not finish within 1 s" in verdict(capsys, feedback)


@pytest.mark.timeout(60)
def test_a_count_that_leaves_a_thread_running_is_rejected(capsys, nothing_left_running, job):
    import workers.lesson07 as w

    release = threading.Event()

    def leaves_a_thread(docs):
        threading.Thread(target=release.wait, daemon=True).start()  # never joined
        return w.count_words(docs)

    try:
        feedback = checks.check_word_count(leaves_a_thread, job, timeout=1)
    finally:
        release.set()
    assert not feedback
    assert "left work running" in verdict(capsys, feedback)


@pytest.fixture
def dask_offload_thread():
    """Dask's client starts one idle thread of its own on first use, for good: start it first."""
    utils = pytest.importorskip("distributed.utils")
    utils._offload_executor.submit(int).result(10)


@pytest.mark.timeout(180)
def test_a_dask_solution_is_seen_and_passes(capsys, dask_offload_thread, nothing_left_running,
                                            job):
    import distributed
    import workers.lesson07 as w

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster) as client:
        def by_dask(docs):
            futures = client.map(w.count_words, w.split_into_chunks(docs, 2), pure=False)
            return sum(client.gather(futures), Counter())

        feedback = checks.check_word_count(by_dask, job, repeats=1)
        out = verdict(capsys, feedback)
        assert feedback, out
        assert "Dask task(s)" in out
        serial = checks.check_word_count(w.count_words, job, repeats=1)
        assert not serial and "one thread" in verdict(capsys, serial)

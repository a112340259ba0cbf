"""The runner: real threads and processes, validation before launch, and nothing left behind."""

import _thread
import functools
import os
import signal
import threading
import time

import psutil
import pytest

from helpers import launch, system, workloads

METHODS = system.start_methods()


def assert_no_leftovers():
    deadline = time.monotonic() + 3
    while launch.leftover_workers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert launch.leftover_workers() == []
    assert not [t for t in threading.enumerate() if t.name.startswith("worker-")]


def later(seconds, action):
    """Run ``action`` in a helper thread after ``seconds``."""
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


@pytest.mark.parametrize("method", METHODS)
def test_processes_run_in_separate_processes_under_each_start_method(method):
    run = launch.run_workload("cpu", 0.1, 2, "processes", start_method=method)
    assert run.start_method == method
    assert len(run.records) == 2
    assert len(set(run.pids)) == 2 and os.getpid() not in run.pids
    assert all(isinstance(r, int) for r in run.results)
    for r in run.records:
        assert 0 <= r.start <= r.end <= run.wall + 0.01
        assert r.cpu_time > 0
    assert_no_leftovers()


def test_threads_share_the_parent_process():
    run = launch.run_workload("io", 0.1, 3, "threads")
    assert run.pids == [os.getpid()] * 3
    assert len({r.tid for r in run.records}) == 3
    assert run.start_method is None
    assert_no_leftovers()


def test_results_come_back_in_worker_order():
    run = launch.run(workloads.io_work, [(1,), (2,), (3,)], "processes")
    assert run.results == [1, 2, 3]


def test_start_together_and_core_samples():
    run = launch.run_workload("cpu", 0.4, 2, "processes", start_together=True)
    starts = [r.start for r in run.records]
    assert max(starts) - min(starts) < 0.2
    if os.path.exists("/proc/self/task"):
        assert all(r.samples for r in run.records), "Linux should report cores"
        assert all(set(r.cores) <= set(range(system.logical_cpus())) for r in run.records)
        assert all(0 <= r.running_share <= 1 for r in run.records)


@pytest.mark.parametrize("n", [0, -1, launch.MAX_WORKERS + 1, 2.5, True, "2"])
def test_bad_worker_counts_are_refused_before_anything_starts(n, monkeypatch):
    def must_not_launch(*a, **k):
        raise AssertionError("launched despite bad input")

    monkeypatch.setattr(launch, "_run_processes", must_not_launch)
    with pytest.raises((ValueError, TypeError), match="worker"):
        launch.run_same(workloads.no_work, n)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: launch.run(workloads.no_work, [()], "fibres"), "mode must be one of 'threads', 'processes'"),
        (lambda: launch.run(workloads.no_work, [()], ("threads",)), "mode must be one of"),
        (lambda: launch.run(workloads.no_work, [()], "processes", start_method="teleport"), "start_method must be one of"),
        (lambda: launch.run(workloads.no_work, [()], "processes", start_method=""), "start_method must be one of"),
        (lambda: launch.run(workloads.no_work, None, "processes"), "args_per_worker must be a list"),
        (lambda: launch.run(workloads.no_work, 3, "threads"), "args_per_worker must be a list"),
        (lambda: launch.run(workloads.no_work, range(10**9), "threads"), "at most 64"),
        (lambda: launch.run(workloads.no_work, [(1,)], "threads"), "do not fit no_work"),
        (lambda: launch.run(workloads.cpu_work, [(1,), ()], "processes"), "worker 1"),
        (lambda: launch.run(functools.partial(lambda n: n), [(1,)], "processes", start_method="spawn"), "lambda"),
        (lambda: launch.run(42, [()], "processes"), "must be a function"),
        (lambda: launch.run(workloads.io_work, [1], "processes"), "must be a tuple"),
        (lambda: launch.run(workloads.no_work, [()], "processes", timeout=0), "timeout"),
        (lambda: launch.run(lambda: 1, [()], "processes", start_method="spawn"), "lambda|notebook"),
        (lambda: launch.run(workloads.io_work, [(threading.Lock(),)], "processes", start_method="spawn"), "pickled"),
        (lambda: launch.run_workload("cpu", 0, 1, "processes"), "above 0"),
        (lambda: launch.run_workload("cpu", 1e6, 1, "processes"), "at most"),
        (lambda: launch.run_workload("gpu", 1, 1, "processes"), "Unknown kind"),
    ],
)
def test_bad_input_gets_a_clear_error_before_launch(call, message, monkeypatch):
    def must_not_launch(*a, **k):
        raise AssertionError("launched despite bad input")

    monkeypatch.setattr(launch, "_run_processes", must_not_launch)
    monkeypatch.setattr(launch, "_run_threads", must_not_launch)
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_a_notebook_function_is_refused_under_spawn_but_allowed_under_fork():
    def cell_function():
        return 1

    cell_function.__module__ = "__main__"
    cell_function.__qualname__ = "cell_function"
    with pytest.raises(ValueError, match="defined in this notebook"):
        launch.validate(cell_function, [()], "processes", "spawn")
    if "fork" in METHODS:
        assert launch.validate(cell_function, [()], "processes", "fork") == "fork"


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_that_raises_is_named_and_the_next_run_works(method):
    with pytest.raises(launch.WorkerError, match=r"Worker 0 \(process \d+\) raised ValueError") as err:
        launch.run(workloads.crash_with_exception, [()], "processes", start_method=method)
    assert err.value.worker == 0
    assert "crash_with_exception" in err.value.details
    assert_no_leftovers()
    assert launch.run_workload("cpu", 0.05, 2, "processes", start_method=method).n_workers == 2


def test_a_thread_that_raises_is_named():
    with pytest.raises(launch.WorkerError, match=r"Worker 1 \(thread .*ValueError: boom"):
        launch.run(_raise_on_second, [(0,), (1,)], "threads")


def _raise_on_second(i):
    if i == 1:
        raise ValueError("boom")
    return i


def test_a_worker_that_exits_hard_is_reported_and_the_next_run_works():
    with pytest.raises(launch.WorkerCrashed, match="exited with code 3"):
        launch.run(workloads.crash_hard, [(3,)], "processes")
    assert_no_leftovers()
    assert launch.run_workload("cpu", 0.05, 2, "processes").n_workers == 2


def test_a_worker_killed_by_a_signal_is_reported():
    def kill_a_worker():
        for _ in range(200):
            kids = launch.leftover_workers()
            if kids:
                kids[-1].send_signal(signal.SIGKILL)
                return
            time.sleep(0.02)

    timer = later(0.3, kill_a_worker)
    with pytest.raises(launch.WorkerCrashed, match="SIGKILL"):
        launch.run_workload("cpu", 8, 2, "processes", track_cores=False)
    timer.join()
    assert_no_leftovers()
    assert launch.run_workload("cpu", 0.05, 2, "processes").n_workers == 2


@pytest.mark.parametrize("mode", launch.MODES)
def test_an_interrupt_stops_every_worker(mode):
    timer = later(0.5, _thread.interrupt_main)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        launch.run_workload("cpu", 20, 2, mode)
    assert time.perf_counter() - t0 < 5
    timer.join()
    assert_no_leftovers()
    assert not launch._threads_still_running()
    assert not workloads.STOP.is_set(), "STOP must be cleared once every worker has ended"
    assert workloads.cpu_work(1) > 0
    assert launch.run_workload("cpu", 0.05, 2, mode).n_workers == 2


@pytest.mark.parametrize("mode", launch.MODES)
def test_a_timeout_stops_the_run(mode):
    t0 = time.perf_counter()
    with pytest.raises(launch.RunTimeout, match="did not finish within 0.5 s"):
        launch.run_workload("cpu", 20, 2, mode, timeout=0.5)
    assert time.perf_counter() - t0 < 5
    assert_no_leftovers()


@pytest.mark.parametrize("mode", launch.MODES)
def test_a_stop_request_ends_the_run(mode):
    stop = threading.Event()
    timer = later(0.3, stop.set)
    t0 = time.perf_counter()
    with pytest.raises(launch.RunStopped):
        launch.run_workload("cpu", 20, 2, mode, stop=stop)
    assert time.perf_counter() - t0 < 3
    timer.join()
    assert_no_leftovers()


def test_shutdown_helpers_leaves_no_child_at_all():
    for method in METHODS:
        launch.run_workload("cpu", 0.05, 1, "processes", start_method=method)
    launch.shutdown_helpers()
    deadline = time.monotonic() + 5
    while psutil.Process().children(recursive=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert psutil.Process().children(recursive=True) == []
    # and they come back when needed
    assert launch.run_workload("cpu", 0.05, 1, "processes").n_workers == 1


def test_forkserver_workers_are_not_mistaken_for_the_forkserver():
    if "forkserver" not in METHODS:
        pytest.skip("no forkserver on this platform")
    seen = []

    def look():
        for _ in range(200):
            kids = launch.leftover_workers()
            if kids:
                seen.extend(kids)
                return
            time.sleep(0.02)

    timer = later(0.1, look)
    launch.run_workload("cpu", 1.5, 2, "processes", start_method="forkserver", track_cores=False)
    timer.join()
    assert seen, "running forkserver workers must count as workers"
    assert_no_leftovers()


def test_a_dead_core_sampler_does_not_break_the_run():
    sampler = launch._CoreSampler(system.course_start_method())
    sampler.proc.kill()
    sampler.proc.join()
    sampler.watch(0.0, {0: (os.getpid(), os.getpid())})  # must not raise
    sampler.forget(0)
    sampler.finish()
    assert sampler.samples == {}

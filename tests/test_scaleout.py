"""Tests for helpers.scaleout: loopback only, clear errors, and a cluster that leaves nothing behind."""

import psutil
import pytest

from helpers import capstone, launch, scaleout


@pytest.mark.parametrize("host, loop", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
    ("0.0.0.0", False), ("10.1.2.3", False), ("", False), ("example.org", False),
])
def test_is_loopback(host, loop):
    assert scaleout.is_loopback(host) is loop


@pytest.mark.parametrize("kwargs, error, words", [
    ({"host": "0.0.0.0"}, ValueError, "loopback"),
    ({"host": "192.168.1.10"}, ValueError, "loopback"),
    ({"n_workers": 0}, ValueError, "at least 1"),
    ({"n_workers": 9}, ValueError, "at most"),
    ({"n_workers": 99}, ValueError, "more than"),
    ({"n_workers": "2"}, TypeError, "whole number"),
    ({"memory_limit": 1000}, ValueError, "128 MB"),
    ({"timeout": 0}, ValueError, "timeout"),
])
def test_bad_local_cluster_settings_are_refused_before_starting(kwargs, error, words):
    before = psutil.Process().children(recursive=True)
    with pytest.raises(error, match=words):
        scaleout.start_local_cluster(**kwargs)
    assert psutil.Process().children(recursive=True) == before


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://10.0.0.5:8786", "tcp://host",
                                     "tcp://:8786", "tcp://h:99999", "", 8786])
def test_bad_scheduler_addresses(address):
    with pytest.raises(ValueError):
        scaleout.check_scheduler_address(address)


def test_scheduler_address_from_environment(monkeypatch):
    monkeypatch.delenv(scaleout.SCHEDULER_ENV, raising=False)
    assert scaleout.scheduler_from_environment() is None
    monkeypatch.setenv(scaleout.SCHEDULER_ENV, " tcp://10.0.0.5:8786 ")
    assert scaleout.scheduler_from_environment() == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(scaleout.SCHEDULER_ENV, "not an address")
    with pytest.raises(ValueError, match="not a scheduler address"):
        scaleout.connect()
    monkeypatch.setenv(scaleout.SCHEDULER_ENV, "tcp://10.0.0.5:8786")
    with pytest.raises(ValueError, match="n_workers"):
        scaleout.connect(n_workers=2)


def test_unreachable_scheduler_gives_a_clear_error():
    with pytest.raises(ConnectionError, match="No Dask scheduler answered"):
        scaleout.connect("tcp://127.0.0.1:9", timeout=2)


def test_worker_memory_limit_is_bounded():
    assert 0 < scaleout.worker_memory_limit(2) <= scaleout.MAX_WORKER_MEMORY


def _listening_addresses(pids):
    return {c.laddr.ip for c in psutil.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids}


def test_local_cluster_runs_and_leaves_nothing_behind(monkeypatch):
    monkeypatch.delenv(scaleout.SCHEDULER_ENV, raising=False)
    with scaleout.connect(n_workers=2) as dask:
        assert dask.is_local
        assert dask.scheduler_address.startswith("tcp://127.0.0.1:")
        workers = dask.workers()
        assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        pids = set(dask.worker_pids().values())
        assert pids <= set(dask.started_pids)
        assert _listening_addresses(pids | {psutil.Process().pid}) <= {"127.0.0.1"}
        assert "loopback only" in str(dask)

        sweep = scaleout.speedup_sweep(dask, "io", seconds=0.04, repeats=1)
        assert [n for n, *_ in sweep.speedups("dask")] == [1, 2]
        with pytest.raises(ValueError, match="has 2"):
            scaleout.speedup_sweep(dask, "io", worker_counts=[3], seconds=0.04)

        bars = scaleout.task_stream(dask, "io", seconds=0.04, n_tasks=4)
        assert len([b for b in bars if b.action == "compute"]) == 4
        assert all(0 <= b.start <= b.stop for b in bars)
        assert scaleout.describe_task_stream(bars).startswith("4 tasks: worker 0 ran")

        assert len(scaleout.scatter_times(dask, mb=1, repeats=2)) == 2

        job = capstone.Job(1, 20, 30, capstone.make_corpus(20, 30, seed=1))
        assert capstone.count_with_dask(dask, job.docs, 2) == job.answer()
    assert dask.closed
    assert dask.leftover_processes() == []
    assert launch.leftover_workers() == []
    dask.close()  # closing twice is harmless
    assert scaleout.close_all() == 0


def test_describe_task_stream_counts_tasks_and_gaps():
    bars = [scaleout.TaskBar("a", "compute", 0.0, 0.1), scaleout.TaskBar("a", "compute", 0.102, 0.2),
            scaleout.TaskBar("b", "compute", 0.0, 0.1), scaleout.TaskBar("b", "transfer", 0.1, 0.11)]
    text = scaleout.describe_task_stream(bars)
    assert text.startswith("3 tasks: worker 0 ran 2, worker 1 ran 1.")
    assert "2.0 ms" in text and "1 other bar" in text
    assert scaleout.describe_task_stream([]) == "The task stream recorded no tasks."

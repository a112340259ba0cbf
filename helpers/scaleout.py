"""Beyond one machine: the same experiments on Dask distributed workers.

One computer has a fixed number of cores. A *cluster* joins many computers:
a **scheduler** hands out tasks, **workers** (separate processes, often on
other machines) run them, and data travels between them over the network.
Dask's ``distributed`` package lets the same Python code drive a cluster::

    from helpers import scaleout
    with scaleout.connect() as dask:          # a local cluster on 127.0.0.1 ...
        print(dask)                           # ... or the scheduler in $COURSE_DASK_SCHEDULER
        sweep = scaleout.speedup_sweep(dask, "cpu", seconds=0.4)

By default :func:`connect` starts a small *local* cluster -- worker processes
on this computer, listening on the loopback address 127.0.0.1 only, so nothing
is reachable from the network -- and closes it again at the end of the
``with`` block (or at :meth:`DaskConnection.close`). Set the environment
variable ``COURSE_DASK_SCHEDULER`` (e.g. ``tcp://10.0.0.5:8786``), or pass
``address=``, to run the same cells on a real cluster instead; its workers
need this course's ``helpers`` package installed.

Dask starts its worker processes with its own start method (the setting
``distributed.worker.multiprocessing-method``, ``spawn`` by default); the
course's ``COURSE_START_METHOD`` does not change it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from . import launch, system, workloads
from .measure import Point, Sweep

SCHEDULER_ENV = "COURSE_DASK_SCHEDULER"
#: The only host a local cluster may listen on: this computer's loopback address.
LOOPBACK = "127.0.0.1"
#: Seconds to wait for a cluster to start, a scheduler to answer, or a job to finish.
DEFAULT_TIMEOUT = 60.0
#: The most workers a local cluster may start.
MAX_LOCAL_WORKERS = 8
#: The most memory one local worker may use (bytes); less on small machines (see :func:`worker_memory_limit`).
MAX_WORKER_MEMORY = 768 * 1024**2


# --------------------------------------------------------------------------- checks


def is_loopback(host: str) -> bool:
    """True if ``host`` names this computer only (127.x.x.x, ::1 or 'localhost')."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_loopback(host: str) -> None:
    """Raise a clear error unless ``host`` is a loopback address (nothing reachable from outside)."""
    if not isinstance(host, str) or not is_loopback(host):
        raise ValueError(
            f"A local cluster here listens only on this computer's loopback address "
            f"({LOOPBACK}), not {host!r}: any other address could let other computers on the "
            f"network send it code to run. To use a real cluster, pass its scheduler's address "
            f"as address=... (or set {SCHEDULER_ENV})."
        )


def check_scheduler_address(address: str) -> str:
    """Return ``address`` cleaned up, or raise a clear error unless it looks like ``tcp://host:port``."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"A scheduler address is text like 'tcp://10.0.0.5:8786', not {address!r}.")
    address = address.strip()
    protocol, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if (not sep or protocol not in ("tcp", "tls") or not colon or not host
            or not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(
            f"{address!r} is not a scheduler address. It looks like 'tcp://10.0.0.5:8786': "
            f"the protocol (tcp or tls), the scheduler's host name or IP address, and its port "
            f"(8786 by default)."
        )
    return address


def scheduler_from_environment() -> str | None:
    """The scheduler address in ``$COURSE_DASK_SCHEDULER``, checked, or None if it is not set."""
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    return check_scheduler_address(value) if value else None


def dask_start_method() -> str:
    """The start method Dask uses for local worker processes (``distributed.worker.multiprocessing-method``)."""
    import dask

    return str(dask.config.get("distributed.worker.multiprocessing-method", "spawn"))


def default_worker_count() -> int:
    """Workers for the local cluster: 2, or 1 on a machine with one usable CPU."""
    return min(2, system.usable_cpus())


def worker_memory_limit(n_workers: int) -> int:
    """Memory each local worker may use (bytes): a fair share of what is free, at most 768 MB.

    On a 2 GB Binder session with two workers this leaves room for the notebook.
    """
    return int(min(MAX_WORKER_MEMORY, system.memory_available() // (n_workers + 2)))


def _check_local_workers(n_workers: object) -> None:
    launch.check_worker_count(n_workers)
    if n_workers > MAX_LOCAL_WORKERS:
        raise ValueError(f"A local cluster here may have at most {MAX_LOCAL_WORKERS} workers; "
                         f"got {n_workers}. This machine has {system.usable_cpus()} usable CPU(s).")


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")


# --------------------------------------------------------------------------- connecting


class DaskConnection:
    """A Dask client, and the local cluster behind it if this object started one.

    Use it in a ``with`` block, or call :meth:`close` when done: the client is
    closed, a local cluster is shut down, and its worker processes are waited
    for (and killed if they do not end within a few seconds).
    """

    def __init__(self, client, cluster=None, started_pids: Sequence[int] = ()):
        self.client = client
        self.cluster = cluster
        self.started_pids = list(started_pids)
        self.closed = False

    @property
    def is_local(self) -> bool:
        """True if this connection started its own cluster on this computer."""
        return self.cluster is not None

    @property
    def scheduler_address(self) -> str:
        return self.client.scheduler.address

    def workers(self) -> list[str]:
        """Addresses of the workers, in a fixed (sorted) order."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def threads_per_worker(self) -> dict[str, int]:
        """How many tasks each worker runs at once."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {w: d["nthreads"] for w, d in sorted(info.items())}

    def worker_pids(self) -> dict[str, int]:
        """The process id of every worker (asked from the workers themselves)."""
        return dict(sorted(self.client.run(os.getpid).items()))

    def speedup_ceiling(self) -> int:
        """The most tasks that can truly run at once: all worker threads (on this machine, at most its usable CPUs)."""
        total = sum(self.threads_per_worker().values())
        return min(total, system.usable_cpus()) if self.is_local else total

    def __str__(self) -> str:
        where = ("a local cluster on this computer (loopback only)" if self.is_local
                 else "a cluster you pointed to")
        lines = [f"Dask: {where}, scheduler at {self.scheduler_address}"]
        if self.is_local:
            lines.append(f"  workers started with the '{dask_start_method()}' start method "
                         f"(Dask's own setting, not COURSE_START_METHOD)")
        threads = self.threads_per_worker()
        for w, pid in self.worker_pids().items():
            lines.append(f"  worker {w}: process {pid}, {threads.get(w, '?')} thread(s)")
        return "\n".join(lines)

    def __enter__(self) -> DaskConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        """Close the client and, for a local cluster, the cluster and every worker process it started."""
        if self.closed:
            return
        self.closed = True
        _open_connections.discard(self)
        try:
            self.client.close(timeout=timeout)
        finally:
            if self.cluster is not None:
                try:
                    self.cluster.close(timeout=timeout)
                finally:
                    _end_processes(self.started_pids, grace=5.0)

    def leftover_processes(self) -> list[psutil.Process]:
        """Processes this connection started that are still alive (empty after :meth:`close`)."""
        return [p for p in _alive(self.started_pids)]


_open_connections: set[DaskConnection] = set()


def _alive(pids: Sequence[int]) -> list[psutil.Process]:
    alive = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _end_processes(pids: Sequence[int], grace: float) -> None:
    """Wait up to ``grace`` s for these processes to end; kill any that do not."""
    deadline = time.perf_counter() + grace
    while _alive(pids) and time.perf_counter() < deadline:
        time.sleep(0.05)
    for proc in _alive(pids):
        try:
            proc.kill()
            proc.wait(2)
        except psutil.Error:
            pass


def _children() -> set[int]:
    """Child processes of this Python, not counting multiprocessing's own helpers."""
    return {c.pid for c in psutil.Process().children(recursive=True)
            if not launch.is_multiprocessing_helper(c)}


def start_local_cluster(n_workers: int | None = None, memory_limit: int | None = None,
                        host: str = LOOPBACK, timeout: float = DEFAULT_TIMEOUT) -> DaskConnection:
    """Start a Dask cluster on this computer and connect to it.

    ``n_workers`` worker processes (default :func:`default_worker_count`), one
    thread each, each allowed ``memory_limit`` bytes (default
    :func:`worker_memory_limit`). Everything listens on ``host``, which must be a
    loopback address; the scheduler's status page gets a random free port.
    Bad input raises before anything starts.
    """
    from distributed import Client, LocalCluster

    n_workers = default_worker_count() if n_workers is None else n_workers
    _check_local_workers(n_workers)
    check_loopback(host)
    _check_timeout(timeout)
    memory_limit = worker_memory_limit(n_workers) if memory_limit is None else memory_limit
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, int) \
            or memory_limit < 128 * 1024**2:
        raise ValueError(f"memory_limit is in bytes and must be at least 128 MB (134217728), "
                         f"not {memory_limit!r}.")
    before = _children()
    cluster = None
    try:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               host=host, dashboard_address=f"{host}:0",
                               memory_limit=memory_limit, silence_logs=logging.ERROR,
                               timeout=timeout)
        client = Client(cluster, timeout=timeout)
    except BaseException:
        if cluster is not None:
            cluster.close()
        _end_processes(list(_children() - before), grace=5.0)
        raise
    connection = DaskConnection(client, cluster, sorted(_children() - before))
    _open_connections.add(connection)
    return connection


def connect(address: str | None = None, n_workers: int | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> DaskConnection:
    """Connect to Dask: the scheduler at ``address`` or ``$COURSE_DASK_SCHEDULER`` if one is given,
    else a new local cluster (see :func:`start_local_cluster`).

    Use the result in a ``with`` block or call its ``close()`` when done.
    """
    address = check_scheduler_address(address) if address else scheduler_from_environment()
    if address is None:
        return start_local_cluster(n_workers, timeout=timeout)
    if n_workers is not None:
        raise ValueError("n_workers only applies to a local cluster; a real cluster already "
                         "has its workers.")
    from distributed import Client

    _check_timeout(timeout)
    try:
        client = Client(address, timeout=min(timeout, 15))
    except OSError as exc:
        raise ConnectionError(
            f"No Dask scheduler answered at {address} ({exc}). Is it running, and can this "
            f"computer reach it? Unset {SCHEDULER_ENV} to use a local cluster instead."
        ) from None
    connection = DaskConnection(client)
    _open_connections.add(connection)
    return connection


def close_all() -> int:
    """Close every Dask connection (and local cluster) opened here and not closed yet. Returns how many."""
    count = 0
    for connection in list(_open_connections):
        connection.close()
        count += 1
    return count


# --------------------------------------------------------------------------- experiments


def _run_shares(connection: DaskConnection, fn, shares: Sequence[int], workers: Sequence[str],
                timeout: float) -> list:
    """Run ``fn(share)`` for share i on worker i (pinned, so n shares use exactly n workers)."""
    from distributed import wait

    client = connection.client
    futures = [client.submit(fn, units, workers=[w], allow_other_workers=False, pure=False)
               for units, w in zip(shares, workers, strict=True)]
    try:
        done = wait(futures, timeout=timeout)
        if done.not_done:
            raise TimeoutError(f"the Dask tasks did not finish within {timeout:g} s")
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def _worker_counts(connection: DaskConnection, worker_counts: Sequence[int] | None) -> list[int]:
    available = len(connection.workers())
    counts = list(range(1, available + 1)) if worker_counts is None else list(worker_counts)
    counts = sorted(set(counts) | {1})
    for n in counts:
        launch.check_worker_count(n)
        if n > available:
            raise ValueError(f"Asked for {n} Dask workers, but the cluster has {available}.")
    return counts


def speedup_sweep(connection: DaskConnection, kind: str = "cpu",
                  worker_counts: Sequence[int] | None = None, seconds: float = 0.4,
                  repeats: int = 3, timeout: float = DEFAULT_TIMEOUT) -> Sweep:
    """The course's speedup experiment on Dask workers: ``seconds`` of ``kind`` work shared by n workers
    (a quarter in quick mode).

    Share i runs on worker i. The workers are warmed up first (they import the
    job); then each worker count is timed ``repeats`` times. Returns a
    :class:`helpers.measure.Sweep` with mode ``"dask"`` that
    :func:`helpers.plots.draw_speedup` draws; its ceiling is the number of
    worker threads that can really run at once.
    """
    counts = _worker_counts(connection, worker_counts)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 100:
        raise ValueError(f"repeats must be a whole number from 1 to 100, not {repeats!r}.")
    _check_timeout(timeout)
    fn = workloads.work_function(kind)
    units = workloads.units_for(kind, seconds)
    workers = connection.workers()
    _run_shares(connection, workloads.sleep_for, [0.02] * len(workers), workers, timeout)
    result = Sweep(kind, workloads.scaled_seconds(seconds), None, connection.speedup_ceiling())
    for n in counts:
        point = Point("dask", n)
        shares = workloads.split_evenly(units, n)
        for _ in range(repeats):
            t0 = time.perf_counter()
            _run_shares(connection, fn, shares, workers[:n], timeout)
            point.times.append(time.perf_counter() - t0)
        result.points.append(point)
    return result


@dataclass(frozen=True)
class TaskBar:
    """One task as a worker ran it: which worker, what it did, and when (s since the first start)."""

    worker: str
    action: str  # "compute", "transfer", "disk-read", ...
    start: float
    stop: float


def task_stream(connection: DaskConnection, kind: str = "cpu", seconds: float = 0.4,
                n_tasks: int = 8, timeout: float = DEFAULT_TIMEOUT) -> list[TaskBar]:
    """Run ``seconds`` of ``kind`` work as ``n_tasks`` tasks (the scheduler places them) and record
    when each worker ran what, with :func:`distributed.get_task_stream`."""
    from distributed import get_task_stream, wait

    launch.check_worker_count(n_tasks)
    _check_timeout(timeout)
    fn = workloads.work_function(kind)
    shares = workloads.split_evenly(workloads.units_for(kind, seconds), n_tasks)
    client = connection.client
    with get_task_stream(client) as stream:
        futures = client.map(fn, shares, pure=False)
        done = wait(futures, timeout=timeout)
        if done.not_done:
            client.cancel(futures)
            raise TimeoutError(f"the Dask tasks did not finish within {timeout:g} s")
    bars = [(record["worker"], ss["action"], ss["start"], ss["stop"])
            for record in stream.data for ss in record.get("startstops", ())]
    if not bars:
        return []
    t0 = min(start for _, _, start, _ in bars)
    return sorted((TaskBar(w, a, start - t0, stop - t0) for w, a, start, stop in bars),
                  key=lambda b: (b.worker, b.start))


def draw_task_stream(ax, bars: Sequence[TaskBar]) -> None:
    """Draw the task stream as a Gantt chart: one row per Dask worker, one bar per task."""
    from .plots import COLORS

    colors = {"compute": COLORS["dask"], "transfer": COLORS["highlight"]}
    workers = sorted({b.worker for b in bars})
    for b in bars:
        row = workers.index(b.worker)
        ax.barh(row, b.stop - b.start, left=b.start, height=0.6, edgecolor="white",
                color=colors.get(b.action, COLORS["ceiling"]))
    ax.set_yticks(range(len(workers)), [f"worker {i}\n{w}" for i, w in enumerate(workers)],
                  fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("time since the first task started (s)")
    if any(b.action != "compute" for b in bars):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=COLORS["dask"], label="computing"),
                           Patch(color=COLORS["highlight"], label="data transfer"),
                           Patch(color=COLORS["ceiling"], label="other")],
                  fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{len([b for b in bars if b.action == 'compute'])} tasks on "
                 f"{len(workers)} Dask worker(s); each bar is one task")
    ax.grid(axis="x", alpha=0.3)


def describe_task_stream(bars: Sequence[TaskBar]) -> str:
    """Say in words what a task stream shows: tasks per worker, and the idle gaps between tasks."""
    computes = [b for b in bars if b.action == "compute"]
    if not computes:
        return "The task stream recorded no tasks."
    workers = sorted({b.worker for b in computes})
    per_worker = {w: sorted((b for b in computes if b.worker == w), key=lambda b: b.start)
                  for w in workers}
    counts = ", ".join(f"worker {i} ran {len(per_worker[w])}" for i, w in enumerate(workers))
    gaps = [max(0.0, nxt.start - prev.stop)
            for runs in per_worker.values() for prev, nxt in zip(runs, runs[1:])]
    task_s = statistics.median(b.stop - b.start for b in computes)
    text = f"{len(computes)} tasks: {counts}. A task computed for {task_s * 1e3:.1f} ms (median)"
    if gaps:
        text += (f"; between two tasks a worker stood idle for {statistics.median(gaps) * 1e3:.1f} ms "
                 f"(median): Dask's own work per task (receiving it, reporting its result).")
    else:
        text += "."
    others = len(bars) - len(computes)
    if others:
        text += (f" {others} other bar(s) show no computing: orange is data moving between "
                 f"workers, grey is other work.")
    return text


def array_of_mb(mb: float):
    """A NumPy array of about ``mb`` megabytes (float64 ones)."""
    import numpy as np

    if isinstance(mb, bool) or not isinstance(mb, (int, float)) or not 0 < mb <= 256:
        raise ValueError(f"Array size must be above 0 and at most 256 MB, not {mb!r}.")
    return np.ones(max(1, int(mb * 1024**2) // 8))


def array_sum(array) -> float:
    """Sum an array (the worker's proof that it really has the data)."""
    return float(array.sum())


def scatter_times(connection: DaskConnection, mb: float = 8, repeats: int = 5,
                  timeout: float = DEFAULT_TIMEOUT) -> list[float]:
    """Seconds to send an ``mb`` MB array to one Dask worker with ``client.scatter`` and sum it there.

    Every byte is copied into a message, sent over the network (here: the
    loopback interface) and unpacked by the worker. One warm-up run is not counted.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 100:
        raise ValueError(f"repeats must be a whole number from 1 to 100, not {repeats!r}.")
    array = array_of_mb(mb)
    client = connection.client
    worker = connection.workers()[0]
    times = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        remote = client.scatter(array, workers=[worker], direct=True, hash=False)
        total = client.submit(array_sum, remote, workers=[worker], pure=False).result(timeout)
        elapsed = time.perf_counter() - t0
        if total != float(array.size):
            raise RuntimeError("the worker summed the wrong data")
        client.cancel([remote])
        del remote
        if i > 0:
            times.append(elapsed)
    return times


def median(times: Sequence[float]) -> float:
    """The median of some timings."""
    return statistics.median(times)

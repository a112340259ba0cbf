"""Start N real threads or N real processes on a job, and report what each did.

::

    from helpers import launch, workloads
    result = launch.run_workload("cpu", seconds=0.5, n_workers=2, mode="processes")
    print(result)            # one line per worker: pid, thread id, times, cores
    result.wall              # seconds from the first start to the last worker joined

The runner is deliberately plain -- a loop that starts workers and waits for
them -- so you can read it. It takes care of the things that go wrong in
real programs:

* **Bad input is refused before anything starts**: 0 workers, too many, an
  unknown start method, a function that a ``spawn`` child could not find.
* **Nothing is left behind**: every child process is joined, or terminated and
  killed, whatever happens -- success, a worker that raises, a worker that
  dies, a timeout, a Stop request or Ctrl-C / "Interrupt kernel".
* **Failures name the worker**: :class:`WorkerError` says which worker failed
  and how, and the next run works as usual.

Threads cannot be killed from outside. The course's own workloads check
:data:`helpers.workloads.STOP` between small steps, so threads running them
stop within milliseconds; a thread running your own function is left to
finish (it is a daemon thread, so it never keeps Python from exiting).
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import system, workloads
from .progress import Progress
from .validation import (
    MAX_WORKERS,
    validate_callable,
    validate_choice,
    validate_importable,
    validate_seconds,
    validate_sequence,
    validate_start_method,
)

MODES = ("threads", "processes")
#: A run that takes longer than this (seconds) is stopped and reported.
DEFAULT_TIMEOUT = 120.0
#: Rough memory a fresh worker process needs (bytes), used to refuse runs that cannot fit.
PROCESS_MEMORY_ESTIMATE = 60 * 1024**2
#: How often the parent looks at which core each worker is on (seconds).
CORE_SAMPLE_INTERVAL = 0.01


class WorkerError(RuntimeError):
    """A worker raised an exception or died. ``.worker`` is its index, ``.details`` the traceback."""

    def __init__(self, message: str, worker: int, details: str = ""):
        super().__init__(message)
        self.worker = worker
        self.details = details


class WorkerCrashed(WorkerError):
    """A worker process ended without reporting back (``os._exit``, a signal, out of memory)."""


class RunTimeout(TimeoutError):
    """The run took longer than its ``timeout``; every worker process was stopped."""


RunStopped = workloads.RunStopped


@dataclass
class WorkerRecord:
    """What one worker did. Times are seconds since the run started."""

    index: int
    pid: int
    tid: int
    start: float
    end: float
    cpu_time: float
    result: Any = None
    #: (time, core, share of the next interval spent running), seen every few ms by a
    #: sampler process; empty where the OS does not tell (not Linux).
    samples: list[tuple[float, int, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Seconds between this worker's start and end."""
        return self.end - self.start

    @property
    def cores(self) -> list[int]:
        """The distinct CPU cores this worker was seen running on (empty where the OS does not tell)."""
        return sorted({core for _, core, _ in self.samples})

    @property
    def running_share(self) -> float | None:
        """Share of its life this worker spent running on a CPU (not waiting, e.g. for the GIL)."""
        if not self.samples:
            return None
        return sum(busy for _, _, busy in self.samples) / len(self.samples)


@dataclass
class RunResult:
    """The outcome of one run: every worker's record plus the wall-clock time."""

    mode: str
    start_method: str | None
    wall: float
    records: list[WorkerRecord]

    @property
    def n_workers(self) -> int:
        return len(self.records)

    @property
    def results(self) -> list[Any]:
        """Each worker's return value, in worker order."""
        return [r.result for r in self.records]

    @property
    def pids(self) -> list[int]:
        return [r.pid for r in self.records]

    @property
    def busy_fraction(self) -> float:
        """CPU seconds used by all workers / (wall seconds x workers): 1.0 means every worker computed all the time."""
        return sum(r.cpu_time for r in self.records) / max(1e-9, self.wall * self.n_workers)

    def __str__(self) -> str:
        how = self.mode if self.mode == "threads" else f"processes ({self.start_method})"
        head = f"{self.n_workers} {how}, wall time {self.wall:.3f} s"
        rows = ["worker    pid      tid    start    end  cpu time  cores"]
        for r in self.records:
            cores = ",".join(map(str, r.cores)) or "-"
            rows.append(f"{r.index:>6} {r.pid:>6} {r.tid:>8} {r.start:>7.3f} {r.end:>6.3f} "
                        f"{r.cpu_time:>8.3f}  {cores}")
        return "\n".join([head, *rows])


# --------------------------------------------------------------------------- checks


def validate(fn: Callable, args_per_worker: Sequence[tuple], mode: str,
             start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """Check a run before anything starts; raise ValueError/TypeError in plain words if it cannot work.

    Every argument is checked -- including that each worker's arguments fit the
    function's signature -- before the first thread or process exists. Returns the
    start method that will be used (None for threads).
    """
    validate_choice(mode, "mode", MODES)
    validate_callable(fn, "The worker function")
    args_list = validate_sequence(args_per_worker, "args_per_worker", max_len=MAX_WORKERS,
                                  min_len=1)
    validate_worker_count(len(args_list))
    for i, args in enumerate(args_list):
        if not isinstance(args, tuple):
            raise TypeError(f"args_per_worker[{i}] must be a tuple of arguments for worker {i}, "
                            f"e.g. (1000,), not {args!r:.60}.")
        validate_arguments_fit(fn, args, f"worker {i}")
    validate_seconds(timeout, "timeout", low=0, high=24 * 3600)
    if mode == "threads":
        if start_method is not None:
            validate_start_method(start_method)
        return None

    method = validate_start_method(start_method)
    if method != "fork":
        validate_importable(fn, method)
        try:
            pickle.dumps(args_list)
        except Exception as exc:
            raise TypeError(
                f"The arguments cannot be sent to a '{method}' child process, because they cannot "
                f"be pickled ({exc}). Pass plain data: numbers, strings, lists, NumPy arrays."
            ) from None
    n = len(args_list)
    needed = n * PROCESS_MEMORY_ESTIMATE
    if needed > system.memory_available():
        raise ValueError(
            f"{n} processes need roughly {needed / 1024**3:.1f} GB, but only "
            f"{system.memory_available() / 1024**3:.1f} GB is free. Use fewer workers."
        )
    return method


def validate_arguments_fit(fn: Callable, args: tuple, who: str) -> None:
    """Raise TypeError if ``fn(*args)`` could not even be called (too many or too few arguments)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some built-ins have no signature: let them be
        return
    try:
        signature.bind(*args)
    except TypeError as exc:
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(f"The arguments for {who}, {args!r:.60}, do not fit {name}{signature}: "
                        f"{exc}.") from None


def validate_worker_count(n: object, name: str = "n_workers") -> int:
    """Raise a clear error unless ``n`` is a whole number from 1 to MAX_WORKERS."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} (the number of workers) must be a whole number, not {n!r}.")
    if n < 1:
        raise ValueError(f"{name}: a run needs at least 1 worker; got {n}.")
    if n > MAX_WORKERS:
        raise ValueError(
            f"{name}: {n} workers is more than this course allows ({MAX_WORKERS}). This machine can run "
            f"{system.usable_cpus()} at the same time; more only take turns."
        )
    return n


# --------------------------------------------------------------------------- workers


def _call_and_record(fn: Callable, args: tuple, index: int, barrier, barrier_timeout: float) -> dict:
    """Run ``fn(*args)`` in the current worker and describe what happened."""
    if barrier is not None:
        barrier.wait(barrier_timeout)
    start = time.perf_counter()
    cpu0 = time.thread_time()
    result = fn(*args)
    return {
        "index": index,
        "pid": os.getpid(),
        "tid": threading.get_native_id(),
        "start": start,
        "end": time.perf_counter(),
        "cpu_time": time.thread_time() - cpu0,
        "result": result,
    }


#: Stands in for the job in a worker's start-up arguments when the job comes through the pipe.
_JOB_BY_PIPE = "job comes through the pipe"


def _process_main(fn, args, index, conn, barrier, barrier_timeout) -> None:
    """Entry point of a worker process: run the job, send the record (or the error) home.

    The job usually arrives through ``conn`` once the process runs, as in
    ``concurrent.futures``' workers: arguments unpickled in the worker's own memory
    made the same work measurably faster (about 2-4 %) than arguments inherited
    through ``fork``. A job that cannot be pickled (a lock under fork) comes as
    start-up arguments instead.
    """
    # Ctrl-C / "Interrupt kernel" reaches the whole process group. The parent decides
    # what happens to its workers, so the workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if fn is _JOB_BY_PIPE or (isinstance(fn, str) and fn == _JOB_BY_PIPE):
            fn, args = conn.recv()
        message = ("ok", _call_and_record(fn, args, index, barrier, barrier_timeout))
    except BaseException as exc:  # report everything, including SystemExit
        message = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    try:
        conn.send(message)
    except Exception as exc:  # the result itself could not be pickled
        conn.send(("error", f"its result could not be sent back ({exc})", ""))
    conn.close()


def _job_bytes(fn, args) -> bytes | None:
    """The pickled job, or None if it cannot be pickled (then it goes as start-up arguments)."""
    try:
        return pickle.dumps((fn, args))
    except Exception:
        return None


def _thread_main(fn, args, index, slots, tids, barrier, barrier_timeout) -> None:
    tids[index] = threading.get_native_id()
    try:
        slots[index] = ("ok", _call_and_record(fn, args, index, barrier, barrier_timeout))
    except BaseException as exc:
        slots[index] = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _sample_loop(conn, interval: float) -> None:
    """Body of the sampler process: look at the workers every ``interval`` s until told to stop.

    For each worker it notes the core it is on, and whether it was *running*:
    what share of the time since the last look it spent running on a CPU
    (1.0 = all of it; a thread waiting for the GIL or sleeping is near 0).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    targets: dict[int, tuple[int, int]] = {}
    last: dict[int, tuple[float, float]] = {}  # index -> (time, cpu seconds) at the last look
    samples: dict[int, list] = {}
    t0 = 0.0
    conn.send("ready")
    while True:
        if conn.poll(interval):
            message = conn.recv()
            if message[0] == "watch":  # ("watch", t0, {index: (pid, tid)})
                t0 = message[1]
                targets.update(message[2])
            elif message[0] == "forget":  # ("forget", index): that worker has finished
                targets.pop(message[1], None)
            else:  # "stop"
                conn.send(samples)
                conn.close()
                return
        for index, (pid, tid) in list(targets.items()):
            now = time.perf_counter() - t0
            core, cpu = system.current_cpu(pid, tid), system.thread_cpu_seconds(pid, tid)
            if core is None or cpu is None:
                continue
            if index in last:
                then, cpu_then = last[index]
                busy = (cpu - cpu_then) / max(now - then, 1e-6)
                samples.setdefault(index, []).append((then, core, min(1.0, busy)))
            last[index] = (now, cpu)


class _CoreSampler:
    """Notes, every few milliseconds, which core each worker is on and whether it is running.

    It is a small separate *process*: a sampling thread inside this Python would
    itself have to wait for the GIL while worker threads compute, and would miss
    exactly the moments we want to see.
    """

    def __init__(self, start_method: str):
        ctx = mp.get_context(start_method)
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_sample_loop, args=(child_conn, CORE_SAMPLE_INTERVAL),
                                name="core-sampler", daemon=True)
        self.proc.start()
        child_conn.close()
        self.samples: dict[int, list[tuple[float, int, float]]] = {}
        # Wait until it runs, so its own start-up does not compete with the workers.
        if not (self.conn.poll(30) and self.conn.recv() == "ready"):
            self.finish()
            raise RuntimeError("the core sampler process did not start")

    def watch(self, t0: float, targets: dict[int, tuple[int, int]]) -> None:
        self._send(("watch", t0, targets))

    def forget(self, index: int) -> None:
        self._send(("forget", index))

    def _send(self, message: tuple) -> None:
        # If the sampler died (killed from outside), the run goes on without samples.
        try:
            self.conn.send(message)
        except (OSError, EOFError):
            pass

    def finish(self) -> None:
        try:
            self.conn.send(("stop",))
            if self.conn.poll(5.0):
                self.samples = self.conn.recv()
        except (OSError, EOFError):
            pass
        finally:
            self.conn.close()
            stop_processes([self.proc])


# --------------------------------------------------------------------------- runners


def run(fn: Callable, args_per_worker: Sequence[tuple], mode: str = "processes", *,
        start_method: str | None = None, timeout: float = DEFAULT_TIMEOUT,
        start_together: bool = False, track_cores: bool = True,
        stop: threading.Event | None = None, show_progress: bool = True) -> RunResult:
    """Run ``fn(*args_per_worker[i])`` in worker ``i``, all at once, as threads or processes.

    Parameters
    ----------
    fn : the function each worker runs. For processes under spawn/forkserver it
        must be importable (e.g. from ``helpers.workloads``).
    args_per_worker : one tuple of arguments per worker; its length is the number of workers.
    mode : ``"threads"`` or ``"processes"``.
    start_method : ``"fork"``, ``"spawn"`` or ``"forkserver"`` (processes only). Default:
        :func:`helpers.system.course_start_method`. The global default is never changed.
    timeout : seconds before the run is stopped and :class:`RunTimeout` raised.
    start_together : make workers wait at a barrier so they begin their job at the same moment.
    track_cores : sample which CPU core each worker runs on (Linux only).
    stop : an Event another thread may set to stop the run early (raises :class:`RunStopped`).
    show_progress : show a progress bar if the run takes more than 2 s.

    Returns a :class:`RunResult`. Raises :class:`WorkerError` if a worker fails.
    """
    method = validate(fn, args_per_worker, mode, start_method, timeout)
    args_per_worker = list(args_per_worker)
    if _threads_still_running():  # threads of an interrupted run: let them see STOP first
        workloads.STOP.set()
        _wait_for_stopped_threads()
    workloads.STOP.clear()
    runner = _run_threads if mode == "threads" else _run_processes
    try:
        return runner(fn, args_per_worker, method, timeout, start_together, track_cores,
                      stop, show_progress)
    finally:
        # Clear STOP only once every worker thread has ended: a thread that has not yet
        # seen it would otherwise run its whole job after the run was stopped.
        if not _threads_still_running():
            workloads.STOP.clear()


#: Result slots of the latest thread run; a slot stays None while its thread runs.
#: (Python 3.11 can report an interrupted thread as finished too early, so the slots,
#: filled by each thread as its very last act, are the reliable sign.)
_latest_thread_slots: list = []


def _threads_still_running() -> bool:
    return any(slot is None for slot in _latest_thread_slots)


def _wait_for_stopped_threads(limit: float = 5.0) -> None:
    """Give worker threads that were told to stop up to ``limit`` seconds to end."""
    deadline = time.perf_counter() + limit
    while _threads_still_running() and time.perf_counter() < deadline:
        time.sleep(0.01)


def _can_sample() -> bool:
    """Only Linux tells which core a thread is on (through /proc)."""
    return os.path.exists(f"/proc/{os.getpid()}/task")


def _wait_step(t0: float, timeout: float, stop: threading.Event | None, what: str) -> None:
    """Raise if the run has gone on too long or someone asked it to stop."""
    if stop is not None and stop.is_set():
        raise RunStopped(f"the run of {what} was stopped on request")
    if time.perf_counter() - t0 > timeout:
        raise RunTimeout(f"the {what} did not finish within {timeout:g} s and were stopped")


def _records(messages: list, t0: float, sampler: _CoreSampler | None, kind: str,
             pids: list[int], first: int = 0) -> list[WorkerRecord]:
    records = []
    for i, message in enumerate(messages, start=first):
        if message[0] == "error":
            raise WorkerError(f"Worker {i} ({kind} {pids[i - first]}) raised {message[1]}", i,
                              message[2])
        d = message[1]
        records.append(WorkerRecord(
            index=i, pid=d["pid"], tid=d["tid"], start=d["start"] - t0, end=d["end"] - t0,
            cpu_time=d["cpu_time"], result=d["result"],
            samples=sampler.samples.get(i, []) if sampler else [],
        ))
    return records


def _run_threads(fn, args_per_worker, _method, timeout, start_together, track_cores, stop,
                 show_progress) -> RunResult:
    global _latest_thread_slots
    n = len(args_per_worker)
    slots: list = [None] * n
    _latest_thread_slots = slots
    tids: dict[int, int] = {}
    barrier = threading.Barrier(n) if start_together else None
    pid = os.getpid()
    threads = [
        threading.Thread(target=_thread_main, name=f"worker-{i}", daemon=True,
                         args=(fn, args, i, slots, tids, barrier, timeout))
        for i, args in enumerate(args_per_worker)
    ]
    sampler = _CoreSampler(system.course_start_method()) if track_cores and _can_sample() else None
    t0 = time.perf_counter()
    try:
        for i, t in enumerate(threads):
            t.start()
            if sampler is not None:  # watch each thread from its first moment
                while i not in tids and t.is_alive():
                    time.sleep(0.0002)  # each thread reports its id as its first act
                if i in tids:
                    sampler.watch(t0, {i: (pid, tids[i])})
        with Progress(n, "workers finished", enabled=show_progress) as bar:
            for t in threads:
                while t.is_alive():
                    t.join(0.05)
                    _wait_step(t0, timeout, stop, "threads")
                    bar.update(sum(not x.is_alive() for x in threads))
        wall = time.perf_counter() - t0
    except BaseException:
        workloads.STOP.set()  # the course's workloads notice this and return within ms
        if barrier is not None:
            barrier.abort()
        _wait_for_stopped_threads()
        raise
    finally:
        if sampler is not None:
            sampler.finish()
    return RunResult("threads", None, wall, _records(slots, t0, sampler, "thread", [pid] * n))


def _run_processes(fn, args_per_worker, method, timeout, start_together, track_cores, stop,
                   show_progress) -> RunResult:
    ctx = mp.get_context(method)
    n = len(args_per_worker)
    # The sampler starts first, so it does not inherit the workers' pipes.
    sampler = _CoreSampler(method) if track_cores and _can_sample() else None
    barrier = ctx.Barrier(n) if start_together else None
    pipes = [ctx.Pipe() for _ in range(n)]  # (parent's end, worker's end)
    jobs = [_job_bytes(fn, args) for args in args_per_worker]
    procs = [
        ctx.Process(target=_process_main, name=f"worker-{i}", daemon=True,
                    args=(_JOB_BY_PIPE, (), i, pipes[i][1], barrier, timeout)
                    if jobs[i] is not None else (fn, args, i, pipes[i][1], barrier, timeout))
        for i, args in enumerate(args_per_worker)
    ]
    messages: list = [None] * n
    t0 = time.perf_counter()
    try:
        for i, p in enumerate(procs):
            p.start()
            if jobs[i] is not None:
                pipes[i][0].send_bytes(jobs[i])
        for _, worker_end in pipes:
            worker_end.close()  # the parent keeps its own end only
        if sampler is not None:
            sampler.watch(t0, {i: (p.pid, p.pid) for i, p in enumerate(procs)})
        waiting = set(range(n))
        with Progress(n, "workers finished", enabled=show_progress) as bar:
            while waiting:
                # Wake up when a worker sends its record or a worker process ends.
                mp.connection.wait([pipes[i][0] for i in waiting] +
                                   [procs[i].sentinel for i in waiting], timeout=0.05)
                for i in sorted(waiting):
                    if pipes[i][0].poll():
                        messages[i] = _receive(pipes[i][0], procs[i], i, method)
                    elif procs[i].exitcode is not None and not pipes[i][0].poll(0.1):
                        raise WorkerCrashed(_crash_message(i, procs[i], method), i)
                    else:
                        continue
                    waiting.discard(i)
                    if sampler is not None:
                        sampler.forget(i)
                    if messages[i][0] == "error":  # fail fast; the finally block stops the rest
                        _records(messages[i : i + 1], t0, None, "process", [procs[i].pid], i)
                bar.update(n - len(waiting))
                _wait_step(t0, timeout, stop, "processes")
        for p in procs:
            p.join()
        wall = time.perf_counter() - t0
        pids = [p.pid for p in procs]
    finally:
        if sampler is not None:
            sampler.finish()
        stop_processes(procs)
        for receive_end, send_end in pipes:
            receive_end.close()
            send_end.close()
    return RunResult("processes", method, wall, _records(messages, t0, sampler, "process", pids))


def _receive(conn, proc, i: int, method: str):
    """Read worker ``i``'s message; a pipe closed without one means the worker died."""
    try:
        return conn.recv()
    except EOFError:
        proc.join(1.0)
        raise WorkerCrashed(_crash_message(i, proc, method), i) from None


def _crash_message(i: int, proc, method: str) -> str:
    code = proc.exitcode
    if code is None:
        how = "stopped answering"
    elif code < 0:
        how = f"was killed by signal {signal.Signals(-code).name}"
    else:
        how = f"exited with code {code}"
    why = ""
    if code == 1 and method != "fork":
        why = (" A spawn or forkserver child that ends with code 1 before it reports has usually "
               "failed to import its function or to unpickle its arguments (a function typed "
               "into a notebook cell, a lambda, an object only this Python has): see the error "
               "it printed above, and put the function in a .py file.")
    return (f"Worker {i} (process {proc.pid}) {how} before reporting a result.{why} "
            f"The other workers were stopped; the next run will start fresh ones.")



def stop_processes(procs: Sequence, grace: float = 1.0) -> None:
    """Make sure none of ``procs`` is left running: join, then terminate, then kill."""
    deadline = time.perf_counter() + grace
    for p in procs:
        if p.pid is None:  # never started
            continue
        p.join(max(0.0, deadline - time.perf_counter()) if p.is_alive() else 0)
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.terminate()
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.join(grace)
            if p.is_alive():
                p.kill()
                p.join(grace)
    for p in procs:
        if p.pid is not None and not p.is_alive():
            p.close()


def run_same(fn: Callable, n_workers: int, args: tuple = (), mode: str = "processes",
             **options) -> RunResult:
    """Run the same ``fn(*args)`` in ``n_workers`` workers. Options as for :func:`run`."""
    validate_worker_count(n_workers)
    return run(fn, [tuple(args)] * n_workers, mode, **options)


def run_workload(kind: str, seconds: float, n_workers: int, mode: str = "processes",
                 **options) -> RunResult:
    """Share ``seconds`` of one kind of work ("cpu", "numpy", "io") evenly among ``n_workers``.

    The total work is fixed, so with perfect parallelism the wall time falls as
    ``seconds / n_workers``. Options as for :func:`run`.
    """
    validate_worker_count(n_workers)
    fn = workloads.work_function(kind)
    total = workloads.units_for(kind, seconds)
    shares = workloads.split_evenly(total, n_workers)
    return run(fn, [(units,) for units in shares], mode, **options)


# --------------------------------------------------------------------------- leftovers


def _has_helper_command_line(proc) -> bool:
    try:
        cmdline = " ".join(proc.cmdline())
    except Exception:
        return False
    return "multiprocessing.forkserver" in cmdline or "multiprocessing.resource_tracker" in cmdline


def is_multiprocessing_helper(proc) -> bool:
    """True for multiprocessing's own long-lived helpers (the forkserver, the resource tracker).

    They are not workers: Python starts one of each the first time they are
    needed and reuses it; both end when this Python ends, or at :func:`shutdown_helpers`.
    Workers started *by* the forkserver inherit its command line, so a process
    whose parent is itself a helper is a worker, not a helper.
    """
    if not _has_helper_command_line(proc):
        return False
    try:
        parent = proc.parent()
    except Exception:
        return True
    return parent is None or not _has_helper_command_line(parent)


def leftover_workers() -> list:
    """Child processes of this Python that are still alive, not counting multiprocessing's helpers.

    Children that have ended but were never joined (zombies) are collected first and
    do not count. After any run of this module this list is empty; a lesson ends by
    checking it.
    """
    import psutil

    mp.active_children()  # joins (collects) every finished multiprocessing child
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE or is_multiprocessing_helper(child):
                continue
        except psutil.Error:
            continue
        alive.append(child)
    return alive


def shutdown_helpers() -> None:
    """Stop multiprocessing's forkserver and resource tracker, if this Python started them.

    Safe to call at any time: they start again by themselves when next needed.
    """
    from multiprocessing import forkserver, resource_tracker

    for helper in (getattr(forkserver, "_forkserver", None),
                   getattr(resource_tracker, "_resource_tracker", None)):
        stop_helper = getattr(helper, "_stop", None)
        if stop_helper is not None:
            try:
                stop_helper()
            except Exception:  # already gone
                pass

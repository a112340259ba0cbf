"""Processes and threads side by side: who runs where, and what each one can see.

A *process* is a running program with its own address space: its own copy of
every variable. A *thread* is one line of execution inside a process; all the
threads of a process share its memory. The functions here make that visible::

    from helpers import processes
    processes.address_space_demo("threads")     # the notebook sees the thread's change
    processes.address_space_demo("processes")   # ... but not the child process's

The small functions a worker runs (:func:`set_counter`, :func:`report_identity`)
live in this importable module on purpose: under the ``spawn`` and
``forkserver`` start methods a child process starts a fresh Python that
imports them by name.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from . import launch, measure, system

#: The module-level variable the demos change. It is 0 whenever this module is freshly imported.
counter = 0
#: A module-level object whose ``id()`` the demos report from each worker.
shared_list: list[int] = [1, 2, 3]
#: :func:`inherited_state` changes this in the parent; a fresh import gives this value.
MARKER_AS_IMPORTED = "as imported"
marker = MARKER_AS_IMPORTED
#: A lock that :func:`inherited_state` keeps held in a parent thread while a child starts.
demo_lock = threading.Lock()

#: Seconds any demo here may wait before it gives up with a clear error.
DEFAULT_TIMEOUT = 30.0


# --------------------------------------------------------------------------- what a worker runs


@dataclass(frozen=True)
class Identity:
    """Who is running: process id, OS thread id, their names, and ``id(shared_list)`` as seen there."""

    pid: int
    tid: int
    process_name: str
    thread_name: str
    object_id: int

    def __str__(self) -> str:
        return (f"pid {self.pid:>7}  tid {self.tid:>7}  id(shared_list) {self.object_id:#x}  "
                f"({self.process_name} / {self.thread_name})")


def report_identity() -> Identity:
    """Report the process id, the OS thread id and ``id(shared_list)`` of whoever calls this."""
    return Identity(
        pid=os.getpid(),
        tid=threading.get_native_id(),
        process_name=mp.current_process().name,
        thread_name=threading.current_thread().name,
        object_id=id(shared_list),
    )


def set_counter(value: int) -> tuple[int, int]:
    """Set this module's ``counter`` to ``value`` where it runs; return (value it had before, value now)."""
    global counter
    before = counter
    counter = value
    return before, counter


def grow_shared_list(item: int) -> tuple[int, list[int]]:
    """Append ``item`` to this module's ``shared_list`` where it runs; return (its id(), its contents now)."""
    shared_list.append(item)
    return id(shared_list), list(shared_list)


def reset_counter(value: int = 0) -> None:
    """Put this module's ``counter`` back to ``value`` (0 by default) in the calling process."""
    global counter
    counter = value


# --------------------------------------------------------------------------- one address space or many


@dataclass(frozen=True)
class AddressSpaceResult:
    """What happened to ``counter`` when one worker changed it (see :func:`address_space_demo`)."""

    mode: str
    start_method: str | None
    parent_pid: int
    worker_pid: int
    worker_tid: int
    parent_before: int
    worker_saw: int
    worker_set: int
    parent_after: int

    @property
    def parent_sees_change(self) -> bool:
        """True if the parent's ``counter`` now holds the value the worker wrote."""
        return self.parent_after == self.worker_set

    def __str__(self) -> str:
        how = "a thread" if self.mode == "threads" else f"a child process ({self.start_method})"
        return "\n".join([
            f"Worker: {how}, pid {self.worker_pid} (the notebook is pid {self.parent_pid}), "
            f"tid {self.worker_tid}",
            f"  counter in the notebook before : {self.parent_before}",
            f"  counter the worker found       : {self.worker_saw}",
            f"  counter the worker set         : {self.worker_set}",
            f"  counter in the notebook after  : {self.parent_after}",
        ])


def address_space_demo(mode: str, new_value: int = 42, start_method: str | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> AddressSpaceResult:
    """Let one worker (a thread or a child process) set ``counter`` to ``new_value``; see what the parent sees.

    The parent's ``counter`` is first reset to 0. A thread writes into the
    parent's own memory, so afterwards the parent reads ``new_value``. A child
    process writes into its own copy, so the parent still reads 0.
    """
    _check_mode(mode)
    if isinstance(new_value, bool) or not isinstance(new_value, int):
        raise TypeError(f"new_value must be a whole number, not {new_value!r}.")
    if new_value == 0:
        raise ValueError("new_value must not be 0: the counter starts at 0, so you could not tell "
                         "whether the worker's change arrived. Pick another number, e.g. 42.")
    reset_counter(0)
    run = launch.run(set_counter, [(new_value,)], mode, start_method=start_method,
                     timeout=timeout, track_cores=False, show_progress=False)
    record = run.records[0]
    worker_saw, worker_set = record.result
    return AddressSpaceResult(
        mode=mode, start_method=run.start_method, parent_pid=os.getpid(), worker_pid=record.pid,
        worker_tid=record.tid, parent_before=0, worker_saw=worker_saw, worker_set=worker_set,
        parent_after=counter,
    )


def identities(mode: str, n_workers: int = 3, start_method: str | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> list[Identity]:
    """Start ``n_workers`` threads or processes that each run :func:`report_identity`; return what they said."""
    _check_mode(mode)
    run = launch.run_same(report_identity, n_workers, (), mode, start_method=start_method,
                          timeout=timeout, track_cores=False, show_progress=False)
    return run.results


# --------------------------------------------------------------------------- threads are OS threads


def os_thread_ids(pid: int | None = None) -> list[int]:
    """The ids the operating system gives the threads of process ``pid`` (default: this one).

    Linux lists them in ``/proc/<pid>/task``; elsewhere psutil asks the OS.
    On Linux and Windows these are the same numbers ``threading.get_native_id()``
    returns; macOS numbers its threads differently.
    """
    pid = os.getpid() if pid is None else pid
    try:
        if os.path.isdir("/proc/self/task"):  # Linux
            return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))
        return sorted(t.id for t in psutil.Process(pid).threads())
    except (FileNotFoundError, psutil.NoSuchProcess):
        raise ValueError(f"There is no process with pid {pid}.") from None


def ids_comparable() -> bool:
    """True where ``threading.get_native_id()`` and :func:`os_thread_ids` use the same numbers."""
    return os.path.isdir("/proc/self/task") or sys.platform == "win32"


@contextmanager
def idle_threads(n: int, timeout: float = 60.0) -> Iterator[list[int]]:
    """Start ``n`` threads that only wait; give their OS thread ids; stop and join them on leaving.

    Use it in a ``with`` block, so the threads never outlive the cell::

        with processes.idle_threads(3) as tids:
            print(tids, processes.os_thread_ids())

    The threads end by themselves after ``timeout`` seconds at the latest.
    """
    launch.check_worker_count(n)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    release = threading.Event()
    started = threading.Barrier(n + 1)
    tids: list[int] = [0] * n

    def wait(i: int) -> None:
        tids[i] = threading.get_native_id()
        try:
            started.wait(timeout)
        except threading.BrokenBarrierError:
            return
        release.wait(timeout)

    threads = [threading.Thread(target=wait, args=(i,), name=f"idle-{i}", daemon=True)
               for i in range(n)]
    try:
        for t in threads:
            t.start()
        try:
            started.wait(timeout)
        except threading.BrokenBarrierError:
            raise TimeoutError(f"{n} idle threads did not all start within {timeout:g} s") from None
        yield list(tids)
    finally:
        release.set()
        started.abort()
        for t in threads:
            if t.ident is not None:
                t.join(timeout)


@dataclass(frozen=True)
class KernelThreads:
    """The OS's list of this process's threads before, during and after ``n`` Python threads ran."""

    python_ids: list[int]
    os_before: list[int]
    os_during: list[int]
    os_after: list[int]

    @property
    def new_os_threads(self) -> list[int]:
        """Threads the OS listed while the Python threads ran, and not before."""
        return sorted(set(self.os_during) - set(self.os_before))

    @property
    def each_is_an_os_thread(self) -> bool:
        """True if every Python thread appeared as its own new OS thread (one-to-one model)."""
        if ids_comparable():
            return set(self.python_ids) <= set(self.new_os_threads)
        return len(self.new_os_threads) >= len(self.python_ids)  # macOS: compare counts only


def kernel_threads_demo(n: int = 3) -> KernelThreads:
    """Ask the OS for this process's threads before, while and after ``n`` Python threads run."""
    before = os_thread_ids()
    with idle_threads(n) as tids:
        during = os_thread_ids()
    return KernelThreads(tids, before, during, _after_threads_end(set(during) - set(before)))


def _after_threads_end(ended: set[int], wait: float = 2.0) -> list[int]:
    """This process's OS thread ids, once the threads in ``ended`` have left the OS's list.

    ``Thread.join()`` returns when Python is done with a thread; the OS may
    list it for a few more milliseconds while it finishes exiting.
    """
    deadline = time.perf_counter() + wait
    while True:
        now = os_thread_ids()
        if not ended & set(now) or time.perf_counter() > deadline:
            return now
        time.sleep(0.005)


def tasks_thread_ids(n_tasks: int = 100, timeout: float = DEFAULT_TIMEOUT) -> set[int]:
    """Run ``n_tasks`` asyncio tasks and return the set of OS thread ids they ran on.

    asyncio tasks are switched by an event loop inside Python (user-level
    scheduling), so the OS sees a single thread however many tasks there are.
    The loop runs in a helper thread, because Jupyter already runs its own loop.
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or not 1 <= n_tasks <= 10_000:
        raise ValueError(f"n_tasks must be a whole number from 1 to 10000, not {n_tasks!r}.")

    async def task() -> int:
        await asyncio.sleep(0)  # hand control back to the loop once
        return threading.get_native_id()

    async def main() -> list[int]:
        return await asyncio.gather(*(task() for _ in range(n_tasks)))

    seen: list[int] = []

    def run_loop() -> None:
        seen.extend(asyncio.run(main()))

    runner = threading.Thread(target=run_loop, name="asyncio-loop", daemon=True)
    runner.start()
    runner.join(timeout)
    if runner.is_alive():
        raise TimeoutError(f"the asyncio tasks did not finish within {timeout:g} s")
    return set(seen)


# --------------------------------------------------------------------------- creation cost


def creation_repeats(how: str) -> int:
    """How many times to create a worker of kind ``how`` (fewer for slow kinds and in quick mode)."""
    full = {"thread": 200, "fork": 40}.get(how, 15)
    return max(5, full // 4) if system.quick_mode() else full


def creation_costs(kinds: list[str] | None = None) -> dict[str, list[float]]:
    """Seconds to create, start and join one do-nothing worker, many times, for each kind.

    ``kinds`` are ``"thread"`` and start methods; by default the thread and
    every start method this platform has. Uses :func:`helpers.measure.creation_times`
    (one warm-up creation each, not counted).
    """
    kinds = ["thread", *system.start_methods()] if kinds is None else list(kinds)
    if not kinds:
        raise ValueError("Name at least one kind: 'thread' or a start method.")
    for how in kinds:
        if how != "thread" and how not in system.start_methods():
            raise ValueError(f"{how!r} is not 'thread' or a start method of this platform "
                             f"({', '.join(system.start_methods())}).")
    try:
        return {how: measure.creation_times(how, creation_repeats(how)) for how in kinds}
    except BaseException:
        # Interrupted (Ctrl-C, "Interrupt kernel"): creation_times does not stop the child it
        # was timing, so stop every child multiprocessing still knows of. None is left running.
        launch.stop_processes(mp.active_children())
        raise


def creation_ratio(times: dict[str, list[float]], method: str) -> float:
    """Median creation time of a ``method`` process divided by the median for a thread."""
    for key in ("thread", method):
        if not times.get(key):
            raise ValueError(f"There are no measured times for {key!r}; measured: {list(times)}.")
    return statistics.median(times[method]) / statistics.median(times["thread"])


def draw_creation_costs(ax, times: dict[str, list[float]]) -> None:
    """Draw every measured creation time as a dot (log scale, ms), the median as a bar, the range as a line."""
    from .plots import COLORS

    for x, (how, values) in enumerate(times.items()):
        color = COLORS["threads"] if how == "thread" else COLORS["processes"]
        ms = [v * 1000 for v in values]
        k = len(ms)
        offsets = [(i / max(1, k - 1) - 0.5) * 0.4 for i in range(k)]
        ax.scatter([x + o for o in offsets], ms, s=10, alpha=0.5, color=color)
        ax.vlines(x, min(ms), max(ms), color=color, lw=1)
        median = statistics.median(ms)
        ax.hlines(median, x - 0.3, x + 0.3, color="black", lw=2)
        ax.annotate(_ms_text(median), (x + 0.32, median), va="center", fontsize="small")
    ax.set_xticks(range(len(times)), [h if h == "thread" else f"process\n({h})" for h in times])
    ax.set_yscale("log")
    ax.set_ylabel("time to create, start and join (ms, log scale)")
    ax.set_xlim(-0.6, len(times) - 0.1)
    ax.set_title("One do-nothing worker: every run a dot, the median a black bar")
    ax.grid(axis="y", alpha=0.3, which="both")


def _ms_text(ms: float) -> str:
    """Milliseconds with sensible digits: '0.12 ms', '4.3 ms', '790 ms'."""
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


# --------------------------------------------------------------------------- what a child inherits


@dataclass(frozen=True)
class ChildView:
    """What a child process found of its parent's state, for one start method."""

    start_method: str
    marker: str
    threads_in_parent: int
    threads_in_child: int
    file_open_in_child: bool
    lock_free_in_child: bool
    fork_warning: bool

    @property
    def sees_parent_globals(self) -> bool:
        """True if the child saw the parent's run-time change to ``marker`` (it does under ``fork``)."""
        return self.marker != MARKER_AS_IMPORTED


def _report_child_view(file_key: tuple[int, int, int], lock_wait: float) -> tuple:
    """Run in the child: read ``marker``, count threads, test the parent's file and ``demo_lock``."""
    fd, device, inode = file_key
    try:
        info = os.fstat(fd)
        file_open = (info.st_dev, info.st_ino) == (device, inode)  # the same file, not a reused number
    except OSError:
        file_open = False
    lock_free = demo_lock.acquire(timeout=lock_wait)
    if lock_free:
        demo_lock.release()
    return marker, threading.active_count(), file_open, lock_free


def inherited_state(start_method: str, lock_wait: float = 0.5,
                    timeout: float = DEFAULT_TIMEOUT) -> ChildView:
    """Start one child with ``start_method`` and ask what it inherited from this process.

    Before the child starts, the parent (1) changes the module global ``marker``,
    (2) opens a temporary file, and (3) runs an extra thread that holds
    ``demo_lock``. The child reports the ``marker`` it sees, how many threads
    it has, whether the file is open in it, and whether it can take
    ``demo_lock`` within ``lock_wait`` seconds. Everything is undone afterwards.
    """
    global marker
    if start_method not in system.start_methods():
        raise ValueError(f"The start method {start_method!r} does not exist on this platform; "
                         f"it offers {', '.join(system.start_methods())}.")
    if not (isinstance(lock_wait, (int, float)) and 0 < lock_wait <= 10):
        raise ValueError(f"lock_wait must be a number of seconds above 0 and at most 10, "
                         f"not {lock_wait!r}.")
    holding, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with demo_lock:
            holding.set()
            release.wait(timeout)

    holder = threading.Thread(target=hold_lock, name="lock-holder", daemon=True)
    fd, path = tempfile.mkstemp(prefix="course_inherit_")
    try:
        marker = "changed by the parent at run time"
        holder.start()
        if not holding.wait(timeout):
            raise TimeoutError("the lock-holding thread did not start")
        info = os.fstat(fd)
        threads_in_parent = threading.active_count()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DeprecationWarning)
            run = launch.run(_report_child_view, [((fd, info.st_dev, info.st_ino), lock_wait)],
                             "processes", start_method=start_method, timeout=timeout,
                             track_cores=False, show_progress=False)
    finally:
        release.set()
        holder.join(timeout)
        os.close(fd)
        os.unlink(path)
        marker = MARKER_AS_IMPORTED
    seen, threads_in_child, file_open, lock_free = run.results[0]
    warned = any("fork" in str(w.message) and "thread" in str(w.message) for w in caught)
    return ChildView(start_method, seen, threads_in_parent, threads_in_child, file_open,
                     lock_free, warned)


def inheritance_table(views: list[ChildView]) -> str:
    """A plain-text table of :class:`ChildView` rows, one per start method."""
    rows = [f"{'start method':<13}{'module global':<36}{'threads (parent -> child)':<27}"
            f"{'open file':<11}{'lock held by a parent thread'}"]
    for v in views:
        threads = f"{v.threads_in_parent} -> {v.threads_in_child}"
        lock = "free (a fresh lock)" if v.lock_free_in_child else "STILL HELD: nobody can release it"
        rows.append(f"{v.start_method:<13}{v.marker!r:<36}{threads:<27}"
                    f"{'inherited' if v.file_open_in_child else 'not there':<11}{lock}")
    return "\n".join(rows)


def _check_mode(mode: str) -> None:
    if mode not in launch.MODES:
        raise ValueError(f"mode must be 'threads' or 'processes', not {mode!r}.")

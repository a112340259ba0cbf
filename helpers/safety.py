"""A safety net around your own concurrent code: nothing hangs, nothing is left running.

Wrap a cell's threads and processes in :func:`watch`::

    from helpers.safety import watch

    with watch(timeout=10):
        t = threading.Thread(target=work)
        t.start()
        t.join()

On leaving the ``with`` block (normally, with an error, or when time is up) the
watch

* waits -- until ``timeout`` seconds after the block began -- for every thread
  and child process that was started inside the block;
* stops every child process still running (terminate, then kill), so none is
  left behind;
* raises :class:`Stuck` if anything was still running, naming each stuck thread
  and the line of *your* code it is waiting on -- a stack dump, like
  ``faulthandler`` or ``py-spy dump`` print. That is what a deadlock looks like.

If the block itself is blocked when time is up (say, ``t.join()`` with no
timeout on a thread that never ends), the watch interrupts it, as the
"Interrupt kernel" button would, and reports the same way.

A thread cannot be killed from outside: Python has no way to do it. A stuck
thread keeps waiting after the report (as a daemon thread it never keeps Python
from exiting). That is why every blocking call in this course has a timeout of
its own: ``lock.acquire(timeout=...)``, ``t.join(timeout=...)``,
``q.get(timeout=...)``.
"""

from __future__ import annotations

import contextlib
import linecache
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator

__all__ = ["Stuck", "watch", "stack_of", "is_running", "join_all", "new_child_processes",
           "wait_for_children", "stop_children"]

_STDLIB = sysconfig.get_paths()["stdlib"].replace("\\", "/")

#: Threads that Python's own machinery starts and ends by itself: a multiprocessing queue's
#: feeder thread lives as long as the queue, not as long as your code.
_NOT_YOURS = {"watch-alarm", "QueueFeederThread"}

#: Never wait less than this for the threads and processes of a block, even when the
#: block itself used up its time (seconds).
GRACE = 0.2
#: The block itself is interrupted only this long after its deadline, so that a block
#: that ends on time is never interrupted by mistake (seconds).
INTERRUPT_MARGIN = 0.5


class Stuck(TimeoutError):
    """Something started in a :func:`watch` block was still running at its deadline.

    ``.threads`` holds the names of the stuck threads, ``.processes`` the PIDs of the
    child processes that had to be stopped, ``.stacks`` one stack dump per thread.
    """

    def __init__(self, message: str, threads: list[str], processes: list[int],
                 stacks: dict[str, str]):
        super().__init__(message)
        self.threads = threads
        self.processes = processes
        self.stacks = stacks


def is_running(thread: threading.Thread) -> bool:
    """True while ``thread`` really runs.

    Asks the interpreter for the thread's current frame instead of trusting
    ``Thread.is_alive()``, which Python 3.11 can get wrong after an interrupted ``join()``.
    """
    return thread.ident is not None and thread.ident in sys._current_frames()


def _is_machinery(filename: str) -> bool:
    """Frames of the standard library and of these helpers: not where *your* code waits."""
    name = filename.replace("\\", "/")
    return name.startswith(_STDLIB) or "/helpers/" in name


def stack_of(thread: threading.Thread, last: int = 3) -> str:
    """Where a running thread is: its innermost frames, newest last, as text.

    Each frame gives the file (``<cell>`` for a notebook cell), the line number, the
    function and the source line, so you can see what the thread waits on:
    ``lock.acquire()``, ``q.get()``, ``t.join()`` ... Frames of the standard library
    are left out, except the innermost one (the call that blocks).
    """
    frame = sys._current_frames().get(thread.ident)
    if frame is None:
        return "    (the thread has ended)"
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()  # outermost first
    mine = [f for f in frames if not _is_machinery(f.f_code.co_filename)]
    chosen = mine[-last:] if mine else frames[-last:]
    if frames[-1] not in chosen:
        chosen.append(frames[-1])  # the blocking call itself, e.g. threading.py's acquire
    lines = []
    for f in chosen:
        code = f.f_code
        source = linecache.getline(code.co_filename, f.f_lineno).strip()
        lines.append(f"    {_short_file(code.co_filename)}, line {f.f_lineno}, in {code.co_name}")
        if source:
            lines.append(f"        {source}")
    return "\n".join(lines)


def _short_file(filename: str) -> str:
    """Notebook cells show as ``<cell>``; other files by their last two path parts."""
    if "ipykernel" in filename or filename.startswith("<"):
        return "<cell>"
    parts = filename.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def new_child_processes(before: set[int]) -> list:
    """Live child processes of this Python whose PIDs are not in ``before``.

    multiprocessing's own helpers (the forkserver, the resource tracker) do not count.
    """
    import psutil

    from .launch import is_multiprocessing_helper

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid in before or not child.is_running():
                continue
            if child.status() == psutil.STATUS_ZOMBIE or is_multiprocessing_helper(child):
                continue
        except psutil.Error:
            continue
        found.append(child)
    return found


def join_all(threads: list[threading.Thread], deadline: float) -> None:
    """Join every thread, giving up at ``deadline`` (a ``time.perf_counter()`` value).

    Raises TimeoutError naming the threads still running then.
    """
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise TimeoutError(f"threads {', '.join(alive)} did not finish in time")


def _alive(child) -> bool:
    """True while a psutil process runs (a zombie has ended; it only waits to be collected)."""
    import psutil

    try:
        return child.is_running() and child.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _mp_children() -> dict:
    """This Python's multiprocessing children by PID (asking also collects the finished ones)."""
    import multiprocessing as mp

    return {p.pid: p for p in mp.active_children()}


def wait_for_children(children: list, end: float) -> list:
    """Wait until ``end`` (a ``time.monotonic()`` value) for ``children`` to end; return those alive.

    multiprocessing's own children are joined through their ``Process`` objects, so
    that ``is_alive()`` and ``exitcode`` stay right for the code that started them.
    """
    by_pid = _mp_children()
    while True:
        alive = [c for c in children if _alive(c)]
        if not alive or time.monotonic() >= end:
            return alive
        for child in alive:
            if child.pid in by_pid:
                by_pid[child.pid].join(min(0.02, max(0.0, end - time.monotonic())))
        if not any(c.pid in by_pid for c in alive):
            time.sleep(0.02)


def stop_children(children: list, grace: float = 1.0) -> None:
    """Terminate ``children`` (psutil processes), then kill those still alive after ``grace`` s."""
    import psutil

    by_pid = _mp_children()
    for step in ("terminate", "kill"):
        for child in children:
            with contextlib.suppress(psutil.Error, OSError, ValueError):
                if child.pid in by_pid:
                    getattr(by_pid[child.pid], step)()
                else:
                    getattr(child, step)()
        children = wait_for_children(children, time.monotonic() + grace)
        if not children:
            break
    _mp_children()


def _child_pids() -> set[int]:
    import psutil

    try:
        return {c.pid for c in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return set()


class _Alarm:
    """Interrupts the main thread once, at ``deadline``, unless cancelled first."""

    def __init__(self, deadline: float):
        self.fired = False
        self._cancel = threading.Event()
        self._main = threading.main_thread()
        can_interrupt = threading.current_thread() is self._main
        self._thread = threading.Thread(target=self._wait, args=(deadline,), daemon=True,
                                        name="watch-alarm")
        if can_interrupt:
            self._thread.start()

    def _wait(self, deadline: float) -> None:
        if self._cancel.wait(max(0.0, deadline - time.monotonic())):
            return
        self.fired = True
        if hasattr(signal, "pthread_kill"):
            # A real signal also wakes a main thread blocked in join() or acquire().
            signal.pthread_kill(self._main.ident, signal.SIGINT)
        else:  # Windows
            import _thread

            _thread.interrupt_main()

    def cancel(self) -> None:
        self._cancel.set()
        if self._thread.is_alive():
            self._thread.join()


def watch(timeout: float = 10.0, *, report: bool = True,
          grace: float | None = None) -> contextlib.AbstractContextManager:
    """Run a block of your code with a deadline; afterwards nothing it started is left running.

    ``timeout`` (seconds, up to 600) counts from the start of the block. See the
    module help (``safety?``) for what happens at the end. ``grace`` (seconds) caps
    how long the watch waits, once the block has ended, for what it left running
    (default: until the deadline). With ``report=False`` stuck threads and stopped
    processes are cleaned up as far as possible but no :class:`Stuck` is raised.
    """
    from .validation import validate_seconds

    validate_seconds(timeout, "timeout", low=0.01, high=600)  # at once, not at the with
    if grace is not None:
        validate_seconds(grace, "grace", low=0.0, high=600)
    if not isinstance(report, bool):
        raise TypeError(f"report must be True or False, not {report!r}.")
    return _watch(float(timeout), report, grace)


@contextlib.contextmanager
def _watch(timeout: float, report: bool, grace: float | None = None) -> Iterator[None]:
    threads_before = set(threading.enumerate())
    children_before = _child_pids()
    deadline = time.monotonic() + timeout
    alarm = _Alarm(deadline + INTERRUPT_MARGIN)
    interrupted_by_us = False
    where = ""
    try:
        yield
    except KeyboardInterrupt as exc:
        if not alarm.fired:
            raise  # the learner pressed Interrupt: let it through
        interrupted_by_us = True
        where = _where_interrupted(exc)
    finally:
        alarm.cancel()
        try:
            end = deadline if grace is None else min(deadline, time.monotonic() + grace)
            stuck = _finish(threads_before, children_before, end)
        except KeyboardInterrupt:
            stuck = None  # a second interrupt while cleaning up: give up quietly
    # A KeyboardInterrupt from our alarm may arrive just after the block ended.
    if stuck is not None and (stuck.threads or stuck.processes or interrupted_by_us) and report:
        if interrupted_by_us and not stuck.threads:
            raise Stuck(f"The code in the watch block was still running after {timeout:g} s "
                        f"and was interrupted. It was waiting here:\n{where}\n{stuck}".rstrip(),
                        stuck.threads, stuck.processes, stuck.stacks) from None
        raise stuck


def _where_interrupted(exc: BaseException, last: int = 2) -> str:
    """The innermost lines of your code in an interrupted block's traceback."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not _is_machinery(f.filename)] or frames
    lines = []
    for f in mine[-last:]:
        lines.append(f"    {_short_file(f.filename)}, line {f.lineno}, in {f.name}")
        if f.line:
            lines.append(f"        {f.line}")
    return "\n".join(lines)


def _finish(threads_before: set, children_before: set[int], deadline: float) -> Stuck:
    """Wait for what the block started, stop what is left, and describe it."""
    end = max(deadline, time.monotonic() + GRACE)
    new_threads = [t for t in threading.enumerate()
                   if t not in threads_before and t.name not in _NOT_YOURS]
    for t in new_threads:
        while is_running(t) and time.monotonic() < end:
            t.join(min(0.05, max(0.0, end - time.monotonic())))
    alive = wait_for_children(new_child_processes(children_before), end)
    stuck_threads = [t for t in new_threads if is_running(t)]
    stacks = {t.name: stack_of(t) for t in stuck_threads}
    pids = [p.pid for p in alive]
    if alive:
        stop_children(alive)
    lines = []
    if stuck_threads:
        lines.append(f"{len(stuck_threads)} thread(s) still running at the deadline:")
        for t in stuck_threads:
            lines.append(f"  thread {t.name!r} is waiting here:")
            lines.append(stacks[t.name])
        lines.append("A thread cannot be stopped from outside; it keeps waiting. Give every "
                     "blocking call a timeout (acquire(timeout=...), join(timeout=...), "
                     "get(timeout=...)), or restart the kernel if it never ends.")
    if pids:
        lines.append(f"{len(pids)} child process(es) still running at the deadline were "
                     f"stopped: PID {', '.join(map(str, pids))}. Did you join() every process?")
    return Stuck("\n".join(lines), [t.name for t in stuck_threads], pids, stacks)



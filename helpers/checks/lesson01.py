"""Checkers for lesson 01's exercises: they run *your* function and say what went wrong.

- :func:`check_start_and_report` -- start n threads and n processes that report their ids;
- :func:`check_parent_sees` -- run one worker in a thread and one in a child process and
  see what reaches the notebook.

Each check runs your function with :func:`helpers.checking.run_learner` (it never
hangs and leaves nothing running), once with the notebook's start method and once
more under ``spawn`` (the default on macOS and Windows), then prints ``Correct!`` or
``Not yet.`` with a hint.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from typing import Any

from .. import system
from ..checking import Outcome, missing_answer, report, run_learner
from ..exercises import Feedback
from ..validation import validate_int, validate_start_method

__all__ = ["check_start_and_report", "check_parent_sees", "Recorder"]

#: Seconds your function may take in one check before it counts as stuck.
TIMEOUT = 20.0


class Recorder(list):
    """A list that notes which process and thread appended each item (pid, thread ident).

    The checks hand you these instead of plain lists. A child process appends to
    its own copy, so the notebook's copy records only what happened here.
    """

    @property
    def calls(self) -> list[tuple[int, int]]:
        """(pid, thread ident) of each append made in this process."""
        return self.__dict__.setdefault("_calls", [])

    def append(self, item: Any) -> None:
        self.calls.append((os.getpid(), threading.get_ident()))
        super().append(item)


def _methods(method: str | None) -> list[str]:
    """The notebook's start method, then spawn if that is another one and exists here."""
    first = validate_start_method(method)
    return [first] + (["spawn"] if first != "spawn" and "spawn" in system.start_methods() else [])


def _under(method: str, first: str) -> str:
    """Say which start method failed when it is the extra spawn run, not the notebook's own."""
    return "" if method == first else (f"Your function works with '{first}', but not under "
                                       f"'{method}' (the default on macOS and Windows): ")


def _run_watched(fn: Callable, args: tuple) -> tuple[Outcome, dict]:
    """Run ``fn(*args)`` with run_learner; also note, as it returns, what it left unjoined."""
    seen: dict[str, Any] = {}
    threads_before = set(threading.enumerate())
    children_before = set(mp.process._children)  # started and not yet joined

    def yours(*a: Any) -> Any:
        seen["ident"] = threading.get_ident()
        seen["tid"] = threading.get_native_id()
        try:
            return fn(*a)
        finally:
            me = threading.current_thread()
            seen["threads"] = [t for t in threading.enumerate() if t not in threads_before
                               and t is not me and t.is_alive()
                               and not t.name.startswith(("watch-alarm", "QueueFeederThread"))]
            seen["unjoined"] = [p for p in list(mp.process._children) if p not in children_before]

    return run_learner(yours, args, TIMEOUT, what="your function"), seen


def _why_it_raised(problem: str, method: str) -> str:
    """A hint for the usual exceptions of start/join mix-ups."""
    if "cannot join thread before it is started" in problem:
        return problem + "\nA thread must be start()ed before you can join() it."
    if "can only join a started process" in problem:
        return problem + "\nA process must be start()ed before you can join() it."
    if "Empty" in problem:
        return problem + ("\nA q.get(timeout=...) found nothing: a process did not report. "
                          "Did you start() every process?" + _not_importable(method))
    return problem


def _left_running(seen: dict) -> str | None:
    if seen.get("threads"):
        return (f"{len(seen['threads'])} thread(s) you started were still running when your "
                "function returned, so their results may be missing. Wait for each one with "
                "t.join(timeout=...) before you read what it produced.")
    if seen.get("unjoined"):
        return (f"{len(seen['unjoined'])} process(es) you started were never joined. Every "
                "process you start needs a p.join(timeout=...): it waits for the child to end "
                "and lets the operating system forget it.")
    return None


def _not_importable(method: str) -> str:
    if method == "fork":
        return ""
    return (f" Under '{method}' each child starts a fresh Python and imports its target by "
            "name: a function defined in a notebook cell cannot be found there, and the child "
            "dies with exit code 1. Give the processes a target from workers/lesson01.py.")


def _as_reports(value: Any, what: str) -> tuple[list | None, str | None]:
    """Check that ``value`` is a list of (pid, tid, ...) tuples of whole numbers."""
    if value is Ellipsis:
        return None, f"{what} is still ... : replace it with your code."
    if not isinstance(value, list):
        return None, f"{what} should be a list of (pid, tid) pairs, not {type(value).__name__}."
    for item in value:
        if (not isinstance(item, (tuple, list)) or len(item) < 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in item[:2])):
            return None, (f"Each entry of {what} should be a (pid, tid) pair of whole numbers; "
                          f"found {item!r:.80}.")
    return value, None


def _reports_problem(fn: Callable, n: int, method: str) -> str | None:
    outcome, seen = _run_watched(fn, (n, method))
    if not outcome.ok:
        return _why_it_raised(outcome.problem, method)
    value = outcome.value
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return ("Return two lists, (thread_reports, process_reports); your function returned "
                f"{type(value).__name__} {value!r:.80}.")
    threads, problem = _as_reports(value[0], "thread_reports")
    if problem:
        return problem
    procs, problem = _as_reports(value[1], "process_reports")
    if problem:
        return problem
    left = _left_running(seen)
    if left:
        return left
    me = os.getpid()
    if not threads:
        return "No thread reported. Did you create the threads and call start() on each?"
    if len(threads) != n:
        return (f"{len(threads)} thread report(s) for n={n}: start n threads and join() every "
                "one before you return the list.")
    if any(pid != me for pid, *_ in threads):
        return (f"A thread reported a PID other than the notebook's ({me}). Threads run inside "
                "this process: did you start processes where threads were asked for?")
    if any(tid == seen["tid"] for _, tid, *_ in threads):
        return ("Your thread target ran in the thread that called start_and_report (same thread "
                "id). Calling t.run() runs the target right there; t.start() creates a new thread.")
    if len({tid for _, tid, *_ in threads}) != n:
        return "Two threads reported the same thread id: did you start one thread n times?"
    if not procs:
        return ("No process reported. Did you start() each process and collect one report per "
                "process with q.get(timeout=...)?" + _not_importable(method))
    if len(procs) != n:
        return (f"{len(procs)} process report(s) for n={n}: start n processes and collect one "
                "report from each (q.get(timeout=...)) before you return." + _not_importable(method))
    if any(pid == me for pid, *_ in procs):
        return ("A 'process' reported the notebook's own PID: its target ran here, not in a child. "
                "p.run() calls the target in the calling process; p.start() creates the child.")
    if len({pid for pid, *_ in procs}) != n:
        return "Two process reports came from the same PID: start n separate processes."
    return None


def check_start_and_report(fn: Callable, n: int = 3, method: str | None = None) -> Feedback:
    """Run ``fn(n, method)``; it must start ``n`` threads and ``n`` processes that report their ids.

    Expected: ``(thread_reports, process_reports)``, two lists of ``n`` (pid, tid)
    pairs, every worker joined. Checked with the notebook's start method and with spawn.
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    n = validate_int(n, "n", 1, 8)
    methods = _methods(method)
    for m in methods:
        problem = _reports_problem(fn, n, m)
        if problem:
            return report(False, _under(m, methods[0]) + problem)
    return report(True, f"{n} threads shared the notebook's PID with thread ids of their own; "
                        f"{n} processes each had a PID of their own. Checked under "
                        f"{' and '.join(_methods(method))}.")


def _parent_sees_problem(fn: Callable, method: str) -> str | None:
    for_thread, for_process = Recorder(), Recorder()
    outcome, seen = _run_watched(fn, (for_thread, for_process, method))
    if not outcome.ok:
        return _why_it_raised(outcome.problem, method)
    left = _left_running(seen)
    if left:
        return left
    code = outcome.value
    if code is Ellipsis:
        return "Your function returned ... : replace it with your code."
    if for_process:
        return (f"process_list changed in the notebook ({list(for_process)!r:.60}): the item was "
                "appended in this process, not in a child. Did you call p.run() instead of "
                "p.start(), or use a thread for it?")
    if code is None:
        return ("Your function returned None. Return the child's exit code, p.exitcode: it is "
                "None until the child has been started and joined.")
    if isinstance(code, bool) or not isinstance(code, int):
        return (f"Return the child's exit code, p.exitcode (a whole number), not "
                f"{type(code).__name__} {code!r:.60}.")
    if not for_thread:
        return ("thread_list is still empty after your function returned: the thread never "
                "appended. Did you start() a thread with target=w.add_item and "
                "args=(thread_list, 'thread')?")
    if any(ident == seen["ident"] for _, ident in for_thread.calls):
        return ("The item reached thread_list from the very thread that called your function: "
                "t.run() runs the target right there; t.start() creates a new thread.")
    if code != 0:
        return (f"The child process failed: exit code {code}." + _not_importable(method))
    return None


def check_parent_sees(fn: Callable, method: str | None = None) -> Feedback:
    """Run ``fn(thread_list, process_list, method)``: a thread and a child each append to one list.

    Expected: ``thread_list`` gains the thread's item (one address space),
    ``process_list`` stays empty in the notebook (the child changed its copy),
    and ``fn`` returns the child's exit code, 0.
    """
    problem = missing_answer(fn)
    if problem:
        return report(False, problem)
    methods = _methods(method)
    for m in methods:
        problem = _parent_sees_problem(fn, m)
        if problem:
            return report(False, _under(m, methods[0]) + problem)
    return report(True, "The thread's append reached the notebook's list; the child's append "
                        "stayed in the child's copy, and the child ended with exit code 0.")

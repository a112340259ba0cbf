"""Checkers for lesson 04's exercises: they run *your* function with real processes.

- :func:`check_fill_in_halves` -- your ``fill_in_halves(ctx, n, name)`` creates a
  shared-memory block, has two processes (``w.fill_part``) fill its halves, and
  returns a copy of the result, leaving no block behind.
- :func:`check_ask_server` -- your ``ask_server(ctx, server, jobs, timeout)``
  sends jobs to a server process over a ``Pipe`` and collects the replies, with
  timeouts; it is also run against a server that is too slow on one job.

Each prints ``Correct!`` or ``Not yet.`` with a hint and returns the verdict.
Whatever your function does, nothing is left running and no block is left in
the system afterwards (a leaked block is removed, and you are told).
"""

from __future__ import annotations

import functools
import mmap
import multiprocessing as mp
import os
import secrets
import sys
import threading
from multiprocessing.connection import Connection

import numpy as np

from .. import sharing
from ..checking import missing_answer, report, run_learner
from ..exercises import Feedback
from ..safety import new_child_processes
from ..validation import validate_start_method

__all__ = ["check_fill_in_halves", "check_ask_server"]

#: Seconds a learner's function may take before it counts as stuck.
TIMEOUT = 8.0
#: Exercise 1: an odd length, so halves that skip or repeat the middle show.
N = 1001
#: Exercise 2: the jobs, and the job the slow server answers only after SLOW_DELAY s.
JOBS = [3, 1, 4, 1, 5, 9, 2, 6]
SLOW_JOBS, SLOW_JOB, SLOW_DELAY = [2, 5, 13, 7], 13, 20.0


def _workers():
    """The lesson's worker module (the kernel's cwd is notebooks/, so ``workers`` imports)."""
    import workers.lesson04 as w

    return w


def _watching_children(fn):
    """Wrap ``fn``: also return how many child processes were still running when it returned."""
    import psutil

    @functools.wraps(fn)
    def call(*args):
        before = {c.pid for c in psutil.Process().children(recursive=True)}
        value = fn(*args)
        return value, len(new_child_processes(before))
    return call


def _is_shared_view(array: np.ndarray) -> bool:
    """Does ``array`` look into someone else's memory (a memoryview or mmap), not own its data?"""
    base = array
    while isinstance(base, np.ndarray):
        if base.flags.owndata:
            return False
        base = base.base
    return isinstance(base, (memoryview, mmap.mmap)) or base is not None


def _unblock(thread_name: str = "your-code") -> None:
    """Close the pipe ends a stuck learner thread holds, so its blocked recv() ends with EOFError.

    The server it waits for was stopped by the watch; closing our copy of the
    server's end is what lets the waiting end see "nobody will ever write".
    """
    for t in threading.enumerate():
        if t.name != thread_name:
            continue
        frame = sys._current_frames().get(t.ident)
        while frame is not None:
            for value in list(frame.f_locals.values()):
                if isinstance(value, Connection) and not value.closed:
                    try:
                        value.close()
                    except OSError:
                        pass
            frame = frame.f_back
        t.join(2.0)


def _reap() -> None:
    """Collect the exit status of child processes that ended unjoined (zombies), so none is left.

    A process the learner started and never joined can end after every other
    clean-up has looked; its exit status would then wait forever for a parent to read it.
    """
    import psutil

    mp.active_children()
    for child in psutil.Process().children():
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


def _run(fn, args, what: str):
    """run_learner with this lesson's deadline, then reap what ended unjoined."""
    try:
        return run_learner(fn, args, timeout=TIMEOUT, what=what)
    finally:
        _reap()


def _ctx(start_method):
    return mp.get_context(validate_start_method(start_method))


# --------------------------------------------------------------------------- exercise 1


def check_fill_in_halves(fill_in_halves, start_method: str | None = None) -> Feedback:
    """Run ``fill_in_halves(ctx, n, name)``; check the result, the block's removal, the joins."""
    problem = missing_answer(fill_in_halves)
    if problem:
        return report(False, problem)
    name = f"{sharing.PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    blocks_before = set(sharing.leftover_segments())
    outcome = _run(_watching_children(fill_in_halves), (_ctx(start_method), N, name),
                   "fill_in_halves")
    others = sorted(set(sharing.leftover_segments()) - blocks_before - {name})
    for other in others:  # blocks made with another name (e.g. w.course_name()) and left
        sharing.remove_segment(other)
    leaked = sharing.segment_exists(name) and sharing.remove_segment(name)
    if others and not leaked:
        name, leaked = others[0], True
    leak_note = (f" Also, the block {name} was still in the system after your function ended: "
                 "it leaked (I removed it). Closing a block is not enough to remove it.") \
        if leaked else ""
    if not outcome.ok:
        return report(False, outcome.problem + leak_note)
    value, still_running = outcome.value
    if value is None:
        return report(False, "fill_in_halves returned None. Write its body, and return a copy of "
                             "the filled array." + leak_note)
    if not isinstance(value, np.ndarray):
        return report(False, f"Return a NumPy array (a copy of the block's contents), not "
                             f"{type(value).__name__}." + leak_note)
    if _is_shared_view(value):
        return report(False, "You returned a view of the shared block, not a copy of it. Once "
                             "the block is closed that array points at memory that is gone, and "
                             "touching it crashes Python. Copy the data out before closing."
                      + leak_note)
    if leaked:
        return report(False, f"The block {name} was still in the system after your function "
                             "returned: it leaked, and would have gone on taking memory after your "
                             "function was done (I removed it). close() only lets go of your view; which "
                             "call removes the block itself?")
    if still_running:
        return report(False, f"Your function returned while {still_running} worker process(es) "
                             "were still running, so the copy was taken before they had "
                             "finished. Wait for them before you copy.")
    expected = np.arange(N, dtype=np.float64) ** 2
    if value.shape != (N,):
        return report(False, f"Expected an array of shape ({N},), got {value.shape}.")
    if not value.any():
        return report(False, "The array you returned is all zeros: neither worker wrote into "
                             "your block. A child given a NumPy array works on its own copy; "
                             "what does a child need to find the very same block?")
    wrong = np.flatnonzero(value != expected)
    if wrong.size:
        zeros = wrong[value[wrong] == 0]
        where = f"places {wrong[0]} to {wrong[-1]}" if wrong.size > 1 else f"place {wrong[0]}"
        if zeros.size == wrong.size:
            return report(False, f"With n = {N}, {where} are still 0: no worker wrote there. "
                                 "Check the start and stop you give each worker (stop is not "
                                 "included) -- together they must cover 0 to n.")
        return report(False, f"Wrong numbers at {where} (n = {N}). Did each worker get its own "
                             "part of the array?")
    return report(True, f"Two processes filled the two halves of one block (n = {N}); you "
                        "copied the result out and the block is gone from the system.")


# --------------------------------------------------------------------------- exercise 2


def check_ask_server(ask_server, start_method: str | None = None) -> Feedback:
    """Run ``ask_server(ctx, server, jobs, timeout)`` with a good server, then with a slow one."""
    problem = missing_answer(ask_server)
    if problem:
        return report(False, problem)
    w = _workers()
    ctx = _ctx(start_method)
    fn = _watching_children(ask_server)

    # 1. A server that answers every job at once.
    outcome = _run(fn, (ctx, w.square_server, list(JOBS), 5.0), "ask_server")
    if not outcome.ok:
        _unblock()
        if "child process" in outcome.problem and "returned" in outcome.problem:
            return report(False, "Your function returned, but the server process was still "
                                 "running and had to be stopped: it was still waiting for more "
                                 "jobs. How does square_server learn that there are no more? "
                                 "(Read it: show(w.square_server).)")
        return report(False, outcome.problem)
    value, still_running = outcome.value
    expected = [j * j for j in JOBS]
    if value is None:
        return report(False, "ask_server returned None. Write its body, and return the list "
                             "of replies.")
    if not isinstance(value, list):
        return report(False, f"Return a list of replies, not {type(value).__name__}.")
    if value != expected:
        if sorted(value, key=repr) == sorted(expected, key=repr):
            return report(False, f"The right replies, but not in the order of the jobs: for "
                                 f"jobs {JOBS} you returned {value}.")
        return report(False, f"For jobs {JOBS} the server replies {expected}; your function "
                             f"returned {value}.")
    if still_running:
        return report(False, "Your function returned while the server process was still "
                             "running. Wait for it to end (with a timeout) before returning.")

    # 2. A server that is far too slow on one job: the reply does not come within `timeout`.
    slow = functools.partial(w.slow_square_server, slow_job=SLOW_JOB, delay=SLOW_DELAY)
    outcome = _run(fn, (ctx, slow, list(SLOW_JOBS), 0.5), "ask_server")
    if not outcome.ok:
        _unblock()
        if "did not finish" in outcome.problem:
            return report(False, f"With a server that needs {SLOW_DELAY:g} s for job "
                                 f"{SLOW_JOB} and timeout=0.5, {outcome.problem}\nEvery wait "
                                 "for a reply needs its own timeout.")
        if "child process" in outcome.problem and "returned" in outcome.problem:
            return report(False, f"With a server that needs {SLOW_DELAY:g} s for job {SLOW_JOB}, "
                                 "your function returned while that server was still running "
                                 "(it had to be stopped). A server that does not end when "
                                 "asked, within your timeout, must be ended by force.")
        return report(False, f"With a server that is slow on job {SLOW_JOB}: {outcome.problem}")
    value, _ = outcome.value
    answered = [j * j for j in SLOW_JOBS[:SLOW_JOBS.index(SLOW_JOB)]]
    # A shorter list is right too: on a busy machine the server may start too late for the
    # first replies to come within 0.5 s (run 1 showed that the function asks every job).
    if not (isinstance(value, list) and value == answered[:len(value)]):
        if isinstance(value, list) and len(value) == len(SLOW_JOBS):
            return report(False, f"For jobs {SLOW_JOBS}, with job {SLOW_JOB} not answered within "
                                 f"timeout, you returned {value}. After a missing reply you went "
                                 "on asking: a late reply would then be taken as the answer to "
                                 "the next job. Stop at the first reply that does not come in "
                                 "time.")
        return report(False, f"For jobs {SLOW_JOBS}, with job {SLOW_JOB} not answered within "
                             f"timeout, expected the replies that did come, {answered}; you "
                             f"returned {value!r:.80}.")
    return report(True, "Every reply came back in order, a reply that did not come in time "
                        "ended the conversation, and the server was told to stop.")

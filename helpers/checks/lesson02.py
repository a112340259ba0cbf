"""Checkers for lesson 02's exercises: they run *your* function with real processes.

- :func:`check_pin_and_report` -- start a process, pin it to one CPU, report the cores it was seen on;
- :func:`check_run_smp` -- an SMP-style pool: worker processes on one shared queue;
- :func:`check_run_amp_dynamic` -- an AMP-style master (the parent) that hands out work as workers finish.

Each check has a deadline, stops whatever your code left running, and prints
``Correct!`` or ``Not yet.`` with a hint.
"""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing.process
import os
import threading
import time
from collections.abc import Callable, Iterator

from ..checking import report, run_learner
from ..exercises import Feedback

__all__ = ["check_pin_and_report", "check_run_smp", "check_run_amp_dynamic"]

#: Seconds a learner's function may take in each check.
PIN_TIMEOUT = 15.0
SMP_TIMEOUT = 15.0


class Skipped(Feedback):
    """A check that cannot run on this OS: truthy, printed as 'Skipped. ...'."""

    def __str__(self) -> str:
        return "Skipped. " + self.message

    __repr__ = __str__


def _inbox_of(target, args, kwargs):
    """The queue a ``worker_loop`` process reads (its ``inbox`` argument), else None."""
    if getattr(target, "__name__", "") != "worker_loop":
        return None
    try:
        return inspect.signature(target).bind(*args, **kwargs).arguments.get("inbox")
    except (TypeError, ValueError):
        return None


@contextlib.contextmanager
def _noting_processes() -> Iterator[dict]:
    """While active, note every process started and every process join() was called on.

    Wraps ``start`` and ``join`` of multiprocessing's process class (the class
    behind every ``ctx.Process``); puts them back on leaving.
    """
    BaseProcess = multiprocessing.process.BaseProcess
    real_start, real_join = BaseProcess.start, BaseProcess.join
    seen: dict = {"started": [], "joined": set(), "inboxes": []}

    def start(self):
        seen["started"].append(self)
        # start() forgets the target and its arguments: look at them first. Only an id is
        # kept, so that the queue itself (and its feeder thread) can go when the learner's
        # function is done with it.
        inbox = _inbox_of(getattr(self, "_target", None), getattr(self, "_args", ()),
                          getattr(self, "_kwargs", {}))
        if inbox is not None:
            seen["inboxes"].append(id(inbox))
        return real_start(self)

    def join(self, timeout=None):
        seen["joined"].add(id(self))
        return real_join(self, timeout)

    BaseProcess.start, BaseProcess.join = start, join
    try:
        yield seen
    finally:
        BaseProcess.start, BaseProcess.join = real_start, real_join


def _wait_for(procs: list, seconds: float) -> list:
    """Wait up to ``seconds`` for ``procs`` to end; return those still running."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(p.is_alive() for p in procs):
        time.sleep(0.02)
    return [p for p in procs if p.is_alive()]


def _tracked(fn: Callable, seen: dict, *args) -> Callable[[], dict]:
    """A call of ``fn(*args)`` that then deals with the processes it left running or unjoined.

    Runs in run_learner's thread, inside :func:`_noting_processes`. Processes
    still running 2 s after ``fn`` returned are stopped here (so the check need
    not wait for its deadline).
    """

    def call() -> dict:
        value = fn(*args)
        unjoined = [p for p in seen["started"] if id(p) not in seen["joined"]]
        waiting = _wait_for([p for p in seen["started"] if p.is_alive()], 2.0)
        for p in waiting:
            p.terminate()
        for p in waiting:
            p.join(2.0)
        return {"value": value, "unjoined": len(unjoined), "waiting": len(waiting)}

    return call


def _unjoined_problem(out: dict, what: str) -> str | None:
    """A message if the learner's function returned without joining its processes."""
    if out["waiting"] and what == "child":
        return ("The child was still running when your function returned, and still 2 s "
                "later (the check stopped it). Keep looking while it runs, then join() it "
                "(with a timeout) before you return.")
    if out["waiting"]:
        return (f"{out['waiting']} {what} process(es) were still running when your function "
                "returned, and still 2 s later (the check stopped them). A worker in "
                "w.worker_loop leaves its loop only when it takes a sentinel (None) from its "
                "queue: how many sentinels does the queue get? And join() every process.")
    if out["unjoined"]:
        return (f"Your function returned without joining {out['unjoined']} {what} "
                "process(es). They ended on their own this time, but nothing waited for "
                "them: call join() (with a timeout) on every process you start before you "
                "return.")
    return None


# --------------------------------------------------------------------------- exercise 1


def _child_masks(stop: threading.Event, seen: dict) -> None:
    """Note the affinity mask of every new child process until ``stop`` is set."""
    import psutil

    from ..launch import is_multiprocessing_helper

    me = psutil.Process()
    while not stop.is_set():
        try:
            children = me.children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                if not is_multiprocessing_helper(child):
                    seen.setdefault(child.pid, set()).add(frozenset(os.sched_getaffinity(child.pid)))
            except (OSError, psutil.Error):
                pass
        stop.wait(0.002)


def check_pin_and_report(pin_and_report: Callable) -> Feedback:
    """Run ``pin_and_report(cpu)`` and check that it pinned the CHILD to ``cpu`` and saw it only there.

    Rejects: not pinned, pinned to another CPU, pinned this Python (the parent)
    instead of the child, a child not joined, a wrong return type, no looks.
    Skipped where the OS cannot pin (macOS, Windows).
    """
    if not (hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")):
        from ..affinity import unsupported_reason

        result = Skipped(True, "This OS cannot pin processes, so this exercise cannot be "
                         "checked here. " + unsupported_reason())
        print(result)
        return result
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1]  # the last CPU we may use: rarely where this Python itself runs
    real_setaffinity = os.sched_setaffinity
    calls: list[tuple[int, frozenset]] = []
    main_mask = os.sched_getaffinity(0)

    def spy(pid, cpus):
        calls.append((pid, frozenset(cpus)))
        return real_setaffinity(pid, cpus)

    def call() -> dict:
        mask = os.sched_getaffinity(0)  # of this thread: pid 0 means "the calling thread"
        try:
            out = _tracked(pin_and_report, seen, cpu)()
        finally:
            out_mask = os.sched_getaffinity(0)
            real_setaffinity(0, mask)
        out["thread_pinned"] = out_mask != mask
        return out

    stop, masks = threading.Event(), {}
    sampler = threading.Thread(target=_child_masks, args=(stop, masks), daemon=True,
                               name="check: child masks")
    os.sched_setaffinity = spy
    sampler.start()
    try:
        with _noting_processes() as seen:
            outcome = run_learner(call, (), timeout=PIN_TIMEOUT, what="pin_and_report")
    finally:
        os.sched_setaffinity = real_setaffinity
        stop.set()
        sampler.join()
        parent_pinned = os.sched_getaffinity(0) != main_mask
        real_setaffinity(0, main_mask)
    if not outcome.ok:
        return report(False, outcome.problem)
    out = outcome.value
    me = {0, os.getpid()}
    if parent_pinned or out["thread_pinned"] or any(pid in me for pid, _ in calls):
        return report(False, "You pinned this Python -- the notebook's own process (pid 0 means "
                      "'me') -- instead of the child. The check put it back. Which pid does "
                      "the child process have once it has started?")
    problem = _unjoined_problem(out, "child")
    if problem:
        return report(False, problem)
    cores = out["value"]
    if isinstance(cores, (str, bytes)) or not isinstance(cores, (set, frozenset, list, tuple)):
        return report(False, f"pin_and_report returned {type(cores).__name__} {cores!r:.60}; "
                      "return the cores the child was seen on, e.g. a set such as {1}.")
    if not cores:
        return report(False, "pin_and_report returned no cores: look at the child "
                      "(psutil.Process(pid).cpu_num()) while it runs, before you join it.")
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in cores):
        return report(False, f"Expected core numbers (whole numbers), got {list(cores)!r:.80}.")
    child_calls = [cpus for pid, cpus in calls if pid not in me]
    # A child whose mask became {cpu} while this Python may use more (e.g. pinned with psutil).
    seen_pinned = len(allowed) > 1 and any(frozenset({cpu}) in m for m in masks.values())
    if child_calls and any(cpus != {cpu} for cpus in child_calls):
        wrong = sorted(next(c for c in child_calls if c != {cpu}))
        return report(False, f"The child was pinned to {wrong}, but the check asked for CPU "
                      f"{cpu}: use the cpu argument.")
    if not child_calls and not seen_pinned:
        return report(False, "The child was never pinned: the OS could move it to any CPU. "
                      "Which call restricts a process to a set of CPUs, and which pid does "
                      "it need?")
    others = sorted(set(cores) - {cpu})
    if others:
        return report(False, f"The child was seen on CPU(s) {others} as well as {cpu}. Did you "
                      "look at it before pinning it, or at another process?")
    note = (" (This Python may use only one CPU here, so any process runs there; the check "
            "still saw your code pin the child.)" if len(allowed) == 1 else "")
    return report(True, f"The child was pinned to CPU {cpu} and seen only there, "
                  f"and this Python kept all its CPUs.{note}")


# --------------------------------------------------------------------------- exercise 2


def _turns_for(seconds: float) -> int:
    """Turns of workers.lesson02.spin's loop that take about ``seconds`` here."""
    n = 50_000
    t0 = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i % 7
    per_turn = (time.perf_counter() - t0) / n
    return max(1000, int(seconds / max(per_turn, 1e-9)))


#: Workers the check asks for; more than two, so one sentinel in all is not enough.
SMP_WORKERS = 3
SMP_TASKS = 12


def _allowed_cpus() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _run_pool(fn: Callable, name: str, tasks: list, cpus: list[int],
              timeout: float) -> tuple[str | None, list, dict]:
    """Run a learner's pool ``fn(tasks, cpus)``; return (problem or None, results, what started).

    The common part of exercises 2 and 3: it ends in time, joins its workers,
    returns one (worker, task_id, start, end) per task, each task once, and
    starts one w.worker_loop process per CPU.
    """
    with _noting_processes() as seen:
        outcome = run_learner(_tracked(fn, seen, list(tasks), list(cpus)), (),
                              timeout=timeout, what=name)
    if not outcome.ok:
        hint = ""
        stack = outcome.problem.partition("waiting:\n")[2].partition("\nA deadlock")[0]
        if ".join(" in stack:
            hint = ("\nIt waited in join() for a worker that never ended: a worker in "
                    "w.worker_loop leaves its loop only when it takes a sentinel (None). Does "
                    "every worker get one?")
        elif ".get(" in stack:
            hint = ("\nIt waited in get() for a result that never came: expect exactly one "
                    "result per task, and give every get() a timeout.")
        return outcome.problem + hint, [], seen
    problem = _unjoined_problem(outcome.value, "worker")
    if problem:
        return problem, [], seen
    results = outcome.value["value"]
    if isinstance(results, (str, bytes)) or not isinstance(results, (list, tuple)):
        return (f"{name} returned {type(results).__name__} {results!r:.60}; return a list with "
                "the result of every task, as the workers put them on the results queue.",
                [], seen)
    if not all(isinstance(r, tuple) and len(r) == 4 for r in results):
        return ("Each result should be the (worker, task_id, start, end) tuple a worker put on "
                f"the results queue; got e.g. {results[:1]!r:.80}.", [], seen)
    done = [task_id for _, task_id, _, _ in results]
    missing = sorted({t for t, _ in tasks} - set(done))
    twice = sorted({t for t in done if done.count(t) > 1})
    if missing:
        return (f"{len(missing)} of {len(tasks)} tasks have no result (e.g. task {missing[0]}). "
                "Did every task go into a queue, and did you read one result per task before "
                "returning?", [], seen)
    if twice:
        return (f"Task(s) {twice} appear more than once. Hand out each task once, and read each "
                "result once.", [], seen)
    if len(seen["inboxes"]) != len(cpus):
        return (f"The check asked for {len(cpus)} workers (one per entry of cpus), but "
                f"{len(seen['inboxes'])} w.worker_loop process(es) were started.", [], seen)
    return None, list(results), seen


def check_run_smp(run_smp: Callable) -> Feedback:
    """Run ``run_smp(tasks, cpus)``: every task done exactly once, by several workers, all joined.

    Rejects: a missing sentinel (workers never end), processes not joined,
    lost or duplicated results, a queue per worker, one worker doing all the
    work, a wrong return type; a function that never returns is stopped at
    the deadline.
    """
    allowed = _allowed_cpus()
    cpus = [allowed[i % len(allowed)] for i in range(SMP_WORKERS)]
    tasks = [(i, _turns_for(0.03)) for i in range(SMP_TASKS)]
    problem, results, seen = _run_pool(run_smp, "run_smp", tasks, cpus, SMP_TIMEOUT)
    if problem:
        return report(False, problem)
    if len(set(seen["inboxes"])) > 1:
        return report(False, "Your workers read different queues: with a queue per worker, "
                      "someone must decide which worker gets which task -- that is the AMP "
                      "design. In SMP every worker reads the SAME queue.")
    workers = sorted({worker for worker, *_ in results})
    if len(workers) < 2:
        return report(False, f"All {len(tasks)} tasks ran in worker {workers[0]}: the other "
                      "workers were still starting when the work ran out. Let the workers "
                      "wait for each other before they take tasks (see run_amp), and run the "
                      "check again.")
    share = {w: sum(r[0] == w for r in results) for w in workers}
    return report(True, f"{len(tasks)} tasks, each done once, spread over the workers as "
                  f"{share}; every worker joined. Whoever was free took the next task -- "
                  "that is self-scheduling.")


# --------------------------------------------------------------------------- exercise 3

#: Exercise 3: one long task first, then short ones; the long one outlasts all the short ones.
DYNAMIC_SHORT = 9
DYNAMIC_TIMEOUT = 20.0


def check_run_amp_dynamic(run_amp_dynamic: Callable) -> Feedback:
    """Run ``run_amp_dynamic(tasks, cpus)`` with 2 workers, a long task first and short ones after.

    Accepts a master (the parent) that hands each worker its next task when it
    reports a result. Rejects: a shared queue (that is SMP), a fixed plan that
    queues short tasks behind the long one, plus everything
    :func:`check_run_smp` rejects.
    """
    allowed = _allowed_cpus()
    cpus = [allowed[i % len(allowed)] for i in range(2)]
    short = _turns_for(0.03)
    tasks = [(0, short * 25)] + [(i, short) for i in range(1, DYNAMIC_SHORT + 1)]
    problem, results, seen = _run_pool(run_amp_dynamic, "run_amp_dynamic", tasks, cpus,
                                       DYNAMIC_TIMEOUT)
    if problem:
        return report(False, problem)
    if len(set(seen["inboxes"])) < len(cpus):
        return report(False, "Your workers share one queue: then they choose their own tasks, "
                      "which is the SMP design. Here the master decides: give each worker its "
                      "own queue.")
    long_worker = next(worker for worker, task_id, *_ in results if task_id == 0)
    stuck = sorted(t for worker, t, *_ in results if worker == long_worker and t != 0)
    if len(stuck) > 1:
        return report(False, f"The worker with the long task 0 also ran tasks {stuck}: they "
                      "waited in its queue behind task 0 while the other worker ran out of "
                      "work. When does the master learn that a worker is free?")
    share = {w: sum(r[0] == w for r in results) for w in sorted({r[0] for r in results})}
    return report(True, f"Tasks per worker {share}: the long task kept one worker busy while "
                  "the other took the short ones as it finished them. The master decided "
                  "every placement, and reacted to what the workers reported.")

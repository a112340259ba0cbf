"""Checks and quiz for lesson 03 (speedup and the GIL).

Each check knows the right answer -- worked out from this Python (GIL on or
off) or recomputed from the very measurement the learner used -- prints
``Correct! ...`` or ``Not yet. ...`` and returns the verdict.
"""

from __future__ import annotations

from . import exercises, system
from .exercises import Feedback, Question
from .measure import Sweep


def expected_thread_speedup(n_workers: int = 2) -> float:
    """What n threads should give on pure-Python work: 1.0 with the GIL; up to the usable CPUs without it."""
    if system.gil_enabled():
        return 1.0
    return float(min(n_workers, system.usable_cpus()))


def check_thread_prediction(answer: object) -> Feedback:
    """Exercise 1: the speedup of 2 threads over 1 on pure-Python ("cpu") work."""
    if system.gil_enabled():
        hint = ("Each thread ran only about half the time: while one holds the GIL the other "
                "waits. Two half-busy workers do the work of one busy worker.")
        praise = ("That is what the GIL allows: the threads take turns, so the job takes as long "
                  "as with one thread.")
    else:
        hint = ("Without the GIL both threads can run Python code at once, up to the number of "
                f"usable CPUs ({system.usable_cpus()}).")
        praise = "Without the GIL the threads run side by side, up to the usable CPUs."
    return exercises.check_number(answer, expected_thread_speedup(2), tolerance=0.3, hint=hint,
                                  praise=praise)


def check_efficiency(answer: object, sweep: Sweep, mode: str = "processes", n_workers: int = 2) -> Feedback:
    """Exercise 3: efficiency E(n) = S(n) / n of ``mode`` with ``n_workers``, recomputed from ``sweep``."""
    expected = dict(sweep.efficiencies(mode)).get(n_workers)
    if expected is None:
        result = Feedback(False, f"This sweep has no {mode} point with {n_workers} workers: run the "
                                 f"panel again with mode 'both' and at least {n_workers} workers.")
        print(result)
        return result
    return exercises.check_number(
        answer, expected, tolerance=0.01,
        hint=f"Efficiency is the speedup divided by the number of workers: "
             f"sweep.speedup_at({mode!r}, {n_workers}) / {n_workers}.",
        praise="Right: the speedup divided by the workers, the share of each worker that did useful work.")


#: Exercise 2: jobs to sort into "threads" or "processes".
JOBS = {
    "download": "download 200 web pages, each one mostly waiting for a server",
    "simulate": "run a pure-Python simulation loop one million times, split in parts",
}


def best_mode(job: str) -> set[str]:
    """The mode(s) that speed up ``job`` (a key of JOBS) on this Python."""
    if job == "download":
        return {"threads"}  # waiting releases the GIL, and threads cost almost nothing to start
    if job == "simulate":
        return {"processes"} if system.gil_enabled() else {"threads", "processes"}
    raise ValueError(f"Unknown job {job!r}; choose one of {', '.join(JOBS)}.")


def check_mode_choice(job: str, answer: object) -> Feedback:
    """Exercise 2: is ``answer`` ("threads" or "processes") a good choice for ``job``?"""
    right = best_mode(job)
    if answer is None or answer is Ellipsis:
        result = Feedback(False, "Replace the ... with 'threads' or 'processes', then run the cell again.")
    elif answer not in ("threads", "processes"):
        result = Feedback(False, f"Answer 'threads' or 'processes', not {answer!r}.")
    elif job == "download":
        result = exercises.feedback(
            answer in right, "Threads: while one waits for a server the others run, and they are cheap.",
            "Waiting releases the GIL, so threads overlap the waits; 200 processes would cost far "
            "more to start and to feed.")
    else:
        result = exercises.feedback(
            answer in right, "Yes: pure-Python work needs one interpreter (and GIL) per worker."
            if system.gil_enabled() else "Yes: without the GIL both can spread pure-Python work.",
            "Pure-Python loops hold the GIL, so threads take turns; processes each have their own "
            "interpreter and GIL.")
    print(result)
    return result


QUIZ = [
    Question(
        "Two threads run a pure-Python loop on a 4-core laptop with standard CPython (GIL on). "
        "The speedup over one thread is about…",
        ["1x", "2x", "4x"], 0,
        "About 1x: only the thread holding the GIL runs Python code; the others wait their turn."),
    Question(
        "Why can threads speed up NumPy math such as np.sin on big arrays?",
        ["NumPy lets go of the GIL while its compiled loop runs",
         "NumPy starts extra processes behind the scenes",
         "np.sin always runs on every core through BLAS"], 0,
        "NumPy releases the GIL inside its loops, so other threads run meanwhile. Element-wise "
        "functions like np.sin do not use BLAS at all."),
    Question(
        "An Amdahl fit says 10% of a job is serial. The best speedup with unlimited workers is…",
        ["10x", "90x", "there is no limit"], 0,
        "S = 1 / (f + (1 - f) / n) tends to 1 / f = 10 as n grows."),
    Question(
        "Two processes took longer than one on a job of a few milliseconds. The likely reason:",
        ["starting the processes cost about as much as the job itself",
         "the GIL stops processes from running at the same time",
         "a process can only use one core"], 0,
        "Start-up (milliseconds with fork, tens of milliseconds with spawn) was not paid back by "
        "so little work. Each process has its own GIL."),
    Question(
        "On a machine (or container) with 1 usable CPU the process curve is flat because…",
        ["only one worker can run at any moment, so they take turns",
         "the GIL blocks processes too",
         "processes are not allowed on 1 CPU"], 0,
        "With one CPU the operating system runs one worker at a time; more workers only take turns."),
]


__all__ = [
    "JOBS", "QUIZ", "best_mode", "check_efficiency", "check_mode_choice", "check_thread_prediction",
    "expected_thread_speedup",
]

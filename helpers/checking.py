"""What every exercise checker shares: run the learner's own function safely and explain failures.

A checker in a lesson's module (``helpers.checks05`` ...) calls::

    outcome = run_learner(your_function, args, timeout=10)
    if not outcome.ok:
        return report(False, outcome.problem)
    ... look at outcome.value and at what the function did ...

:func:`run_learner` runs the function in a thread of its own inside
:func:`helpers.safety.watch`, so that a function that never returns, raises,
deadlocks, starts threads or processes and never joins them, or exits, ends
within ``timeout`` with a plain message -- and nothing is left running. The
checker then prints ``Correct!`` or ``Not yet.`` with a hint
(:func:`report`).
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .exercises import Feedback
from .safety import Stuck, _is_machinery, watch

__all__ = ["Outcome", "run_learner", "report", "missing_answer", "quietly"]

_quiet = threading.local()

#: Once the learner's function has returned, how long its leftover threads and processes
#: get to end by themselves before they count as left running (seconds).
LEFTOVER_GRACE = 1.0


@dataclass
class Outcome:
    """What happened when the learner's function ran.

    ``ok`` is True when it returned in time and left nothing running; then
    ``value`` is what it returned. Otherwise ``problem`` says what went wrong
    in words a learner can act on.
    """

    ok: bool
    value: Any = None
    problem: str = ""
    seconds: float = 0.0


def missing_answer(fn: object) -> str | None:
    """A message if ``fn`` is still the ``...`` placeholder or not a function, else None."""
    if fn is None or fn is Ellipsis:
        return "Replace the ... with your code, then run the cell again."
    if not callable(fn):
        return f"Expected a function (def ...), got {type(fn).__name__} {fn!r:.60}."
    return None


def _last_line(exc: BaseException) -> str:
    """'file, line N: source' of the innermost frame of the learner's traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not _is_machinery(f.filename)]
    if not (mine or frames):
        return ""
    f = (mine or frames)[-1]
    where = "<cell>" if "ipykernel" in f.filename or f.filename.startswith("<") else f.filename
    return f" (at {where}, line {f.lineno}: {f.line})" if f.line else ""


def run_learner(fn: Callable, args: Sequence = (), timeout: float = 10.0,
                what: str = "your function") -> Outcome:
    """Call ``fn(*args)`` with a deadline; never hangs, leaves nothing running.

    The call runs in a daemon thread named ``your-code``. Everything it starts
    is waited for until ``timeout`` and then stopped (processes) or reported
    (threads, which cannot be stopped from outside).
    """
    problem = missing_answer(fn)
    if problem:
        return Outcome(False, problem=problem)
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: report, don't die
            box["error"] = exc

    import time

    t0 = time.perf_counter()
    try:
        with watch(timeout, grace=LEFTOVER_GRACE):
            worker = threading.Thread(target=call, name="your-code", daemon=True)
            worker.start()
            worker.join(timeout)
    except Stuck as stuck:
        seconds = time.perf_counter() - t0
        if "your-code" in stuck.threads:
            return Outcome(False, problem=(
                f"{what} did not finish within {timeout:g} s. This is where it was waiting:\n"
                f"{stuck.stacks['your-code']}\n"
                "A deadlock, a join() on a thread that never ends, or a get() on an empty "
                "queue with no timeout all look like this."), seconds=seconds)
        return Outcome(False, problem=(
            f"{what} returned, but left work running:\n{stuck}\n"
            "Join every thread and process you start before returning."), seconds=seconds)
    seconds = time.perf_counter() - t0
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, SystemExit):
            return Outcome(False, problem=(
                f"{what} called sys.exit({exc.code!r}). Return a value instead of exiting."),
                seconds=seconds)
        return Outcome(False, problem=(
            f"{what} raised {type(exc).__name__}: {exc}{_last_line(exc)}"), seconds=seconds)
    return Outcome(True, value=box.get("value"), seconds=seconds)


def report(correct: bool, message: str) -> Feedback:
    """Print ``Correct! message`` or ``Not yet. message`` and return the verdict.

    Inside ``with quietly():`` a right answer prints nothing (the verdict is only
    returned); a wrong one is still printed, so a failing solution says why.
    """
    result = Feedback(bool(correct), message)
    if not (correct and getattr(_quiet, "on", False)):
        print(result)
    return result


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Checks inside this block print no praise (a solution cell uses it: it must not praise).

    ``assert check(...)`` inside it still fails loudly when the answer is wrong.
    """
    before = getattr(_quiet, "on", False)
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = before

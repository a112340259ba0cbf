"""Exercise checkers for lesson 06 (synchronization tools).

Each checker runs *your* function with many threads and hands it primitives
the check controls -- a queue, a semaphore, a barrier -- that behave exactly
like ``queue.Queue``, ``threading.BoundedSemaphore`` and ``threading.Barrier``,
except that a blocking call with no timeout gives up after the check's deadline.
So a consumer that never stops, a connection that is never given back or a
barrier that never fills is reported within seconds, and no thread is left
waiting forever.

* :func:`check_consumer` -- ``consumer(q, results)`` stops at the sentinel.
* :func:`check_connection` -- ``use_connection(sem, pool)`` lets at most k in.
* :func:`check_phases` -- ``run_phases(n_workers, step, Barrier)`` keeps phases apart.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..checking import missing_answer, report, run_learner
from ..exercises import Feedback
from ..system import quick_mode

__all__ = ["check_consumer", "check_connection", "check_phases", "DeadlineQueue",
           "DeadlineSemaphore", "DeadlineBarrier", "FlakyPool", "GaveUp"]

#: A blocking call without a timeout gives up this many seconds after the check began.
PATIENCE = 1.5 if quick_mode() else 3.0


class GaveUp(BaseException):
    """Raised inside your code when a blocking call of a check's primitive passed the deadline.

    A ``BaseException``, so that an ``except Exception:`` in your code does not swallow it.
    """


def _left(deadline: float, timeout: float | None) -> float:
    """Seconds to wait: your timeout, but never past the check's deadline."""
    left = max(0.0, deadline - time.monotonic())
    return left if timeout is None else min(left, max(0.0, timeout))


class DeadlineQueue(queue.Queue):
    """A ``queue.Queue`` whose blocking ``get`` gives up (raises :class:`GaveUp`) at a deadline.

    It also counts ``get`` calls that found the queue empty without waiting
    (``get_nowait()``, ``get(block=False)``, ``get(timeout=0)``): many of those
    mean a loop that spins instead of sleeping.
    """

    def __init__(self, maxsize: int = 0, deadline: float | None = None):
        super().__init__(maxsize)
        self.deadline = deadline if deadline is not None else time.monotonic() + PATIENCE
        self.empty_polls = 0
        self.gave_up = 0

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not block or timeout == 0:
            try:
                return super().get(False)
            except queue.Empty:
                self.empty_polls += 1
                raise
        wait = _left(self.deadline, timeout)
        try:
            return super().get(True, wait) if wait > 0 else super().get(False)
        except queue.Empty:
            if timeout is None or time.monotonic() >= self.deadline:
                self.gave_up += 1
                raise GaveUp from None
            raise


class DeadlineSemaphore(threading.BoundedSemaphore):
    """A ``BoundedSemaphore`` whose blocking ``acquire`` gives up (:class:`GaveUp`) at a deadline."""

    def __init__(self, value: int, deadline: float):
        super().__init__(value)
        self.limit = value
        self.deadline = deadline
        self.gave_up = 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking:
            return super().acquire(False)
        wait = _left(self.deadline, timeout)
        if super().acquire(True, wait if wait > 0 else 0.001):
            return True
        if timeout is None or time.monotonic() >= self.deadline:
            self.gave_up += 1
            raise GaveUp
        return False

    __enter__ = acquire

    def free(self) -> int:
        """Places free right now (the semaphore's counter)."""
        return self._value


class DeadlineBarrier(threading.Barrier):
    """A ``threading.Barrier`` whose ``wait`` never waits past the check's deadline.

    Past the deadline it breaks, as any barrier does when a ``wait`` times out:
    every waiter gets ``threading.BrokenBarrierError``. It logs when each wait began.
    """

    deadline = 0.0  # set by the check on a subclass of its own
    log: list  # (time, "wait", thread name)

    def wait(self, timeout: float | None = None) -> int:
        self.log.append((time.perf_counter(), "wait", threading.current_thread().name))
        return super().wait(max(0.001, _left(self.deadline, timeout)))


# --------------------------------------------------------------------------- exercise 1


def check_consumer(consumer: Callable, n_producers: int = 2, n_consumers: int = 3,
                   items_each: int = 200) -> Feedback:
    """Run ``consumer(q, results)`` in ``n_consumers`` threads next to ``n_producers`` producers.

    Correct means: every item lands in ``results`` exactly once, no sentinel
    (``None``) does, and every consumer returns after taking its sentinel --
    the check puts one ``None`` per consumer after the last item.
    """
    problem = missing_answer(consumer) or _is_placeholder(consumer)
    if problem:
        return report(False, problem)
    deadline = time.monotonic() + PATIENCE
    q = DeadlineQueue(maxsize=10, deadline=deadline)
    results: list = []
    errors: list = []
    returned: list = []
    expected = list(range(n_producers * items_each))

    def produce(p: int) -> None:
        try:
            for item in range(p * items_each, (p + 1) * items_each):
                if item % 25 == 0:
                    time.sleep(0.005)  # a slow moment: the queue runs empty for a while
                q.put(item, timeout=max(0.01, deadline - time.monotonic()))
        except queue.Full:
            pass  # nobody takes items any more: reported below

    def consume(i: int) -> None:
        try:
            consumer(q, results)
            returned.append(i)
        except GaveUp:
            pass
        except Exception as exc:  # reported to the learner
            errors.append(exc)

    def pipeline() -> None:
        producers = [threading.Thread(target=produce, args=(p,), name=f"producer-{p}",
                                      daemon=True) for p in range(n_producers)]
        consumers = [threading.Thread(target=consume, args=(i,), name=f"consumer-{i}",
                                      daemon=True) for i in range(n_consumers)]
        for t in producers + consumers:
            t.start()
        for t in producers:
            t.join(PATIENCE + 1)
        try:
            for _ in range(n_consumers):  # one sentinel per consumer
                q.put(None, timeout=max(0.01, deadline - time.monotonic()))
        except queue.Full:
            pass
        for t in consumers:
            t.join(PATIENCE + 1)

    outcome = run_learner(pipeline, (), timeout=PATIENCE + 3, what="The pipeline")
    if errors:
        exc = errors[0]
        return report(False, f"A consumer raised {type(exc).__name__}: {exc}")
    if not outcome.ok and q.gave_up == 0:
        return report(False, outcome.problem)
    sentinels = sum(1 for x in results if x is None)
    real = [x for x in results if x is not None]
    stuck = n_consumers - len(returned)
    if stuck:
        also = (f" It also put {sentinels} sentinel(s) into results, as if they were items."
                if sentinels else "")
        return report(False, (
            f"{stuck} of {n_consumers} consumers were still waiting in q.get() "
            f"{PATIENCE:g} s after the check began, although every item had been taken and one "
            f"None was put per consumer.{also} An empty queue is not a signal; what does your "
            f"consumer do when the item it takes out is the sentinel?"))
    if sentinels:
        return report(False, f"results holds {sentinels} None(s): the sentinel is a signal, not "
                             f"an item. Look at each item before you append it.")
    missing = len(set(expected) - set(real))
    doubles = len(real) - len(set(real))
    if missing:
        return report(False, (
            f"{missing} of {len(expected)} items never reached results, yet every consumer "
            f"returned. Did a consumer stop before its sentinel, e.g. when the queue was empty "
            f"for a moment? Producers can be slower than consumers."))
    if doubles or sorted(real) != expected:
        return report(False, f"{doubles} item(s) were appended more than once: each item "
                             f"taken out of the queue should be appended once.")
    if q.empty_polls > 20 * len(expected):
        return report(False, (
            f"Every item arrived, but your consumers asked an empty queue {q.empty_polls:,} "
            f"times without waiting: a loop that spins burns a CPU core doing nothing. Let "
            f"get() wait (with a timeout) instead."))
    return report(True, f"{n_consumers} consumers took all {len(expected)} items from "
                        f"{n_producers} producers, each exactly once, and each stopped at its "
                        f"sentinel.")


def _is_placeholder(fn: Callable) -> str | None:
    """A message if ``fn`` still contains the skeleton's ``...`` (the untouched exercise)."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and node.value.value is Ellipsis):
            return "Replace the ... with your code, then run the cell again."
    return None


# --------------------------------------------------------------------------- exercise 2


class FlakyPool:
    """A stand-in for a database with ``limit`` connections; ``query(x)`` uses one.

    It records how many callers were inside ``query`` at once (``peak``) and
    raises ``ConnectionError`` on every ``fail_every``-th call, as networks do.
    """

    def __init__(self, limit: int, hold: float = 0.005, fail_every: int = 5):
        self.limit = limit
        self.hold = hold
        self.fail_every = fail_every
        self.inside = 0
        self.peak = 0
        self.calls = 0
        self._guard = threading.Lock()

    def query(self, x: int) -> int:
        """Pretend to ask the database for ``x * 10`` (takes ``hold`` seconds)."""
        with self._guard:
            self.calls += 1
            n = self.calls
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        try:
            time.sleep(self.hold)
            if self.fail_every and n % self.fail_every == 0:
                raise ConnectionError(f"connection dropped during query {x}")
            return x * 10
        finally:
            with self._guard:
                self.inside -= 1


def check_connection(use_connection: Callable, limit: int = 3, n_users: int = 24) -> Feedback:
    """Run ``use_connection(sem, pool, x)`` in ``n_users`` threads at once.

    ``sem`` is a ``BoundedSemaphore(limit)``, ``pool`` a :class:`FlakyPool`
    whose ``query`` sometimes raises ``ConnectionError``. Correct means: never
    more than ``limit`` callers inside ``pool.query`` at once, at least two at
    once (the pool is used), every caller gets ``x * 10`` or the
    ``ConnectionError``, and every place is given back in the end.
    """
    problem = missing_answer(use_connection) or _is_placeholder(use_connection)
    if problem:
        return report(False, problem)
    deadline = time.monotonic() + PATIENCE
    sem = DeadlineSemaphore(limit, deadline)
    pool = FlakyPool(limit, hold=0.01)
    answers: dict[int, Any] = {}
    over_release: list = []

    def user(x: int) -> None:
        try:
            answers[x] = use_connection(sem, pool, x)
        except GaveUp:
            answers[x] = GaveUp
        except ValueError as exc:  # BoundedSemaphore released too often
            if "released too many times" in str(exc):
                over_release.append(x)
            answers[x] = exc
        except Exception as exc:  # ConnectionError is expected here
            answers[x] = exc

    def crowd() -> None:
        go = threading.Event()
        threads = [threading.Thread(target=lambda x=x: (go.wait(5), user(x)), name=f"user-{x}",
                                    daemon=True) for x in range(n_users)]
        for t in threads:
            t.start()
        go.set()  # everybody at once
        for t in threads:
            t.join(PATIENCE + 1)

    outcome = run_learner(crowd, (), timeout=PATIENCE + 3, what="The crowd of users")
    if not outcome.ok and sem.gave_up == 0:
        return report(False, outcome.problem)
    if over_release:
        return report(False, "release() was called more often than acquire(): a "
                             "BoundedSemaphore refuses that. Give back only what you took.")
    if pool.calls == 0:
        return report(False, "Nobody called pool.query(x): your function should use a "
                             "connection and return what the query returns.")
    if pool.peak > limit:
        return report(False, (
            f"{pool.peak} users were inside pool.query at the same moment, but the pool has "
            f"only {limit} connections. Every query must happen while holding one of the places "
            f"of the semaphore you were given (sem), not a new one of your own."))
    if sem.gave_up:
        return report(False, (
            f"{sem.gave_up} user(s) waited for a connection until the check gave up, and "
            f"{limit - sem.free()} of {limit} places were never given back. Some queries raise "
            f"ConnectionError: does your function give its place back when that happens too?"))
    if sem.free() != limit:
        return report(False, f"After everybody finished, {limit - sem.free()} place(s) were "
                             f"still taken. Each user must give back the place it took.")
    wrong = [x for x, a in answers.items()
             if not isinstance(a, ConnectionError) and a != x * 10]
    if wrong or len(answers) < n_users:
        x = wrong[0] if wrong else None
        got = answers.get(x) if wrong else "nothing"
        return report(False, (
            f"use_connection(sem, pool, {x}) returned {got!r}; it should return what "
            f"pool.query({x}) returns (and let a ConnectionError go on to the caller)."))
    if pool.peak < 2:
        return report(False, "Only one user at a time got a connection: the pool has "
                             f"{limit}. Did you use a Lock, or hold the semaphore too long?")
    failed = sum(isinstance(a, ConnectionError) for a in answers.values())
    return report(True, (
        f"{n_users} users shared {limit} connections: at most {pool.peak} at once, "
        f"{failed} queries failed with ConnectionError and still gave their place back."))


# --------------------------------------------------------------------------- exercise 3


def check_phases(run_phases: Callable, n_workers: int = 4) -> Feedback:
    """Run ``run_phases(n_workers, step, Barrier)`` and check the order of the steps.

    ``step(me, phase)`` records when worker ``me`` starts and ends a phase
    (worker ``me`` needs ``me + 1`` units of time in phase 1, so they finish
    at different times). ``Barrier`` is ``threading.Barrier`` with the check's
    deadline built in. Correct means: every worker ran phase 1 and then phase
    2, in its own thread, all threads joined, and no phase-2 step began before
    the last phase-1 step ended.
    """
    problem = missing_answer(run_phases) or _is_placeholder(run_phases)
    if problem:
        return report(False, problem)
    unit = 0.01
    events: list = []  # (time, "start"/"end", me, phase, thread name)
    caught: list = []
    Barrier = type("Barrier", (DeadlineBarrier,),
                   {"deadline": time.monotonic() + PATIENCE, "log": events})

    def step(me: int, phase: int) -> None:
        if phase not in (1, 2) or not isinstance(me, int) or not 0 <= me < n_workers:
            raise ValueError(f"step(me, phase) wants me in 0..{n_workers - 1} and phase 1 or "
                             f"2; got step({me!r}, {phase!r}).")
        name = threading.current_thread().name
        events.append((time.perf_counter(), "start", me, phase, name))
        time.sleep(unit * (me + 1) if phase == 1 else unit)
        events.append((time.perf_counter(), "end", me, phase, name))

    old_hook = threading.excepthook

    def hook(args: Any) -> None:  # keep worker errors for the report instead of printing them
        caught.append(args.exc_value)

    returned_at: list = []

    def call() -> None:
        run_phases(n_workers, step, Barrier)
        returned_at.append(time.perf_counter())

    threading.excepthook = hook
    try:
        outcome = run_learner(call, (), timeout=PATIENCE + 3, what="run_phases")
    finally:
        threading.excepthook = old_hook
    broken = [e for e in caught if isinstance(e, threading.BrokenBarrierError)]
    if broken:
        waits = sum(1 for e in events if e[1] == "wait")
        return report(False, (
            f"{len(broken)} worker thread(s) got BrokenBarrierError. {waits} wait() call(s) "
            f"reached the barrier, but it only opens when as many threads wait as it has "
            f"parties; until then wait() blocks, and at its timeout the barrier breaks for "
            f"everyone. How many threads will call wait()?"))
    if caught:
        exc = caught[0]
        return report(False, f"A worker thread raised {type(exc).__name__}: {exc}")
    if not outcome.ok:
        return report(False, outcome.problem)
    steps = [e for e in events if e[1] in ("start", "end")]
    ran = sorted((e[2], e[3]) for e in steps if e[1] == "end")
    wanted = sorted((me, ph) for me in range(n_workers) for ph in (1, 2))
    if ran != wanted:
        missing = sorted(set(wanted) - set(ran))
        extra = len(ran) - len(set(ran))
        what = (f"these (worker, phase) steps never ran: {missing}" if missing
                else f"{extra} step(s) ran more than once")
        return report(False, f"Each worker should call step(me, 1) and then step(me, 2) once; "
                             f"{what}.")
    main = threading.main_thread().name
    names = {e[4] for e in steps}
    if len(names) < n_workers or "your-code" in names or main in names:
        return report(False, (
            f"The steps ran in {len(names)} thread(s); start one thread per worker "
            f"(threading.Thread) so the workers really run side by side."))
    if returned_at and max(e[0] for e in steps) > returned_at[0]:
        return report(False, "run_phases returned while its workers were still running: "
                             "wait for every thread you started before returning.")
    last_end_1 = max(e[0] for e in steps if e[1] == "end" and e[3] == 1)
    early = [e for e in steps if e[1] == "start" and e[3] == 2 and e[0] < last_end_1]
    if early:
        me = early[0][2]
        slow = max((e for e in steps if e[1] == "end" and e[3] == 1), key=lambda e: e[0])[2]
        waits = [e for e in events if e[1] == "wait"]
        where = (" Your threads did wait at the barrier, but not between the two phases."
                 if waits else " Nothing waited at the barrier you were given.")
        return report(False, (
            f"Worker {me} began phase 2 while worker {slow} was still in phase 1: {len(early)} "
            f"phase-2 step(s) started too early.{where}"))
    return report(True, (
        f"All {n_workers} workers finished phase 1 before any began phase 2; the fast ones "
        f"waited at the barrier for the slowest."))

"""Repeat a locked-increment function over thread and process counts, and draw it (lesson 06).

*Contention* means several workers asking for the same lock at the same time.
The lesson shows the plain code once in a cell -- ``locked_increments(lock,
counter, times, me)`` from ``notebooks/workers/lesson06.py``, run by 1 and 2
threads and timed with ``time.perf_counter()``. :func:`measure_lock_cost`
repeats *that same function*: it splits a fixed number of locked increments of
one shared counter among 1, 2, 4 ... workers -- threads with a
``threading.Lock`` and a list, processes with a ``multiprocessing.Lock`` and a
counter in shared memory -- and reports nanoseconds per locked step (median of
several rounds, with the min-max spread) and how often the lock really went
from one worker to another (*hand-overs*). :func:`draw` plots it.

Example::

    import workers.lesson06 as w
    cost = lock_contention.measure_lock_cost(w.locked_increments, worker_counts=(1, 2, 4))
    print(cost)                      # a table: median, min, max, ratio, hand-overs
    lock_contention.draw(ax, cost)

Every wait has a timeout and every worker is stopped before it returns.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import launch, system
from .measure import Spread
from .validation import validate_importable, validate_int, validate_seconds

__all__ = ["measure_lock_cost", "draw", "LockCost", "CostPoint", "repeat_rounds", "default_operations"]

if TYPE_CHECKING:  # matplotlib is only needed for drawing, not in worker processes
    from matplotlib.axes import Axes

MODES = launch.MODES


@dataclass
class CostPoint(Spread):
    """Repeated measurements of one (mode, workers) setting, in nanoseconds per locked increment.

    ``.median``, ``.low`` and ``.high`` summarise ``ns_per_op``.
    """

    mode: str
    n_workers: int
    ns_per_op: list[float] = field(default_factory=list)
    #: How often, per 1000 increments, the lock went to a different worker than the last one.
    handovers_per_1000: float = 0.0

    @property
    def times(self) -> list[float]:
        """The repeated measurements (ns per locked increment), for :class:`Spread`."""
        return self.ns_per_op


@dataclass
class LockCost:
    """All measurements of :func:`measure`."""

    operations: dict[str, int]
    repeats: int
    start_method: str | None
    usable_cpus: int
    points: list[CostPoint] = field(default_factory=list)
    #: True if every run's shared counter ended at exactly the number of increments.
    counts_correct: bool = True

    def curve(self, mode: str) -> list[CostPoint]:
        """The points of one mode, ordered by number of workers."""
        return sorted((p for p in self.points if p.mode == mode), key=lambda p: p.n_workers)

    def median(self, mode: str, n_workers: int) -> float | None:
        """Median ns per locked increment for ``mode`` with ``n_workers`` (None if not measured)."""
        return next((p.median for p in self.points
                     if p.mode == mode and p.n_workers == n_workers), None)

    def ratio(self, mode: str, n_workers: int) -> float | None:
        """How many times the cost with ``n_workers`` is the cost with 1 worker (same mode)."""
        alone, shared = self.median(mode, 1), self.median(mode, n_workers)
        return None if alone is None or shared is None else shared / alone

    def table(self) -> str:
        """A plain-text table: median and spread in ns, and the ratio to 1 worker."""
        rows = [f"{'mode':<10} {'workers':>7} {'median ns':>10} {'min ns':>8} {'max ns':>8} "
                f"{'x 1 worker':>10} {'hand-overs/1000':>15}"]
        for mode in dict.fromkeys(p.mode for p in self.points):
            for p in self.curve(mode):
                r = self.ratio(mode, p.n_workers)
                ratio = f"{r:10.2f}" if r is not None else f"{'-':>10}"
                rows.append(f"{mode:<10} {p.n_workers:>7} {p.median:>10.0f} {p.low:>8.0f} "
                            f"{p.high:>8.0f} {ratio} {p.handovers_per_1000:>15.1f}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return (f"Lock cost: ns per locked increment, median of {self.repeats} repeats, "
                f"{self.usable_cpus} usable CPU(s)\n{self.table()}")


def repeat_rounds(fn: Callable, index: int, n_workers: int, lock: Any, counter: Any,
                  times: Any, ops: int, rounds: int, go: Any, done: Any, timeout: float) -> None:
    """Body of one lock-cost worker (a thread or a process): run ``fn`` once per round.

    For each round: wait at the ``go`` barrier until the conductor starts this
    group, call ``fn(lock, counter, ops, index)`` -- the function the lesson
    showed, e.g. ``workers.lesson06.locked_increments`` -- and note the round's
    start and end in ``times[2 * (r * n_workers + index)]`` and the place after
    it; then report at the ``done`` barrier. The barriers have timeouts, and the
    conductor stops the workers if a round takes too long.
    """
    try:
        for r in range(rounds):
            go.wait(timeout)
            t = time.perf_counter()
            fn(lock, counter, ops, index)
            slot = 2 * (r * n_workers + index)
            times[slot], times[slot + 1] = t, time.perf_counter()
            done.wait(timeout)
    except threading.BrokenBarrierError:  # the conductor gave up (timeout or error): just end
        return


def default_operations(mode: str) -> int:
    """Locked increments per measurement: fewer for processes (each costs more), fewer in quick mode."""
    base = 200_000 if mode == "threads" else 100_000
    return base // 4 if system.quick_mode() else base


@dataclass
class _Group:
    """The workers of one (mode, number of workers) setting and the objects they share."""

    mode: str
    n: int
    per_worker: int
    #: Kept here on purpose: under spawn a child opens the lock by name after start()
    #: returns, so the parent must keep it alive until the end.
    lock: Any
    counter: Any
    times: Any
    go: Any
    done: Any
    workers: list = field(default_factory=list)


def _start_group(fn: Callable, mode: str, n: int, ops: int, rounds: int,
                 timeout: float) -> _Group:
    """Create one setting's lock, counter and barriers, and start its n workers (they wait at ``go``)."""
    per_worker = max(1, ops // n)
    ctx = None if mode == "threads" else mp.get_context(system.course_start_method())
    if ctx is None:
        lock, counter, times = threading.Lock(), [0, -1, 0], [0.0] * (2 * n * rounds)
        go, done = threading.Barrier(n + 1), threading.Barrier(n + 1)  # n workers + the conductor
        make = threading.Thread
    else:
        lock, counter = ctx.Lock(), ctx.Array("q", [0, -1, 0], lock=False)
        times = ctx.Array("d", 2 * n * rounds, lock=False)
        go, done = ctx.Barrier(n + 1), ctx.Barrier(n + 1)
        make = ctx.Process
    group = _Group(mode, n, per_worker, lock, counter, times, go, done)
    for i in range(n):
        worker = make(target=repeat_rounds, name=f"lock worker {mode} {n}-{i}", daemon=True,
                      args=(fn, i, n, lock, counter, times, per_worker, rounds, go, done, timeout))
        group.workers.append(worker)
        worker.start()
    return group


def _wait_until_ready(groups: list[_Group], deadline: float) -> None:
    """Wait until every worker waits at its ``go`` barrier; fail fast if one died starting up."""
    while True:
        for g in groups:
            dead = [w for w in g.workers if g.mode == "processes" and w.exitcode is not None]
            if dead:
                raise RuntimeError(f"{dead[0].name} ended while starting (exit code "
                                   f"{dead[0].exitcode}); its error is printed above.")
        if all(g.go.n_waiting == g.n for g in groups):
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the lock-cost workers did not start in time; all were stopped.")
        time.sleep(0.005)


def _stop_group(group: _Group) -> None:
    """Release anyone still waiting, then join the threads or stop the processes."""
    group.go.abort()
    group.done.abort()
    if group.mode == "threads":
        for t in group.workers:
            t.join(5.0)
    else:
        launch.stop_processes(group.workers)


def measure_lock_cost(fn: Callable, worker_counts: Sequence[int] = (1, 2, 4),
                      modes: Sequence[str] = MODES, operations: int | None = None,
                      repeats: int | None = None, timeout: float = 60.0) -> LockCost:
    """Repeat ``fn(lock, counter, times, me)`` -- one locked step per count -- alone and shared.

    ``fn`` is the function the lesson showed (``workers.lesson06.locked_increments``):
    it must add 1 to ``counter[0]`` ``times`` times under ``lock`` and may count
    hand-overs in ``counter[1]`` and ``counter[2]``. For each setting (mode, n)
    a fixed number of locked increments of one shared counter is split evenly
    among n workers (``threading.Lock`` and a list for threads,
    ``multiprocessing.Lock`` and a shared ``Array`` for processes). One round's
    wall time (first start to last end) divided by the number of increments
    gives nanoseconds per locked increment.

    All workers are started first and wait at barriers, so start-up time is
    never counted. Then the calling thread (the conductor) runs the settings
    *one at a time*, round after round, in alternating order: round 0 is a
    warm-up, then ``repeats`` measured rounds (5, or 3 in quick mode).
    Interleaving the settings means a burst of load from other programs hits
    all of them alike.
    """
    if not callable(fn):
        raise TypeError(f"fn must be the function to repeat, e.g. w.locked_increments; "
                        f"got {fn!r:.60}.")
    if isinstance(worker_counts, (str, bytes)) or not isinstance(worker_counts, (list, tuple)):
        raise TypeError(f"worker_counts must be a list or tuple of whole numbers, "
                        f"not {worker_counts!r:.60}.")
    if not worker_counts:
        raise ValueError("worker_counts is empty; give at least one number of workers, e.g. (1, 2).")
    for n in worker_counts:
        validate_int(n, "each worker count", 1, 16)
    counts = sorted(set(worker_counts))
    if isinstance(modes, str) or not modes or any(m not in MODES for m in modes):
        raise ValueError(f"modes must be a tuple naming 'threads' and/or 'processes', "
                         f"not {modes!r}.")
    if operations is not None:
        validate_int(operations, "operations", 100, 10_000_000)
    if repeats is None:
        repeats = 3 if system.quick_mode() else 5
    validate_int(repeats, "repeats", 1, 50)
    validate_seconds(timeout, "timeout", high=600)
    if "processes" in modes:
        validate_importable(fn, system.course_start_method())
    modes = list(dict.fromkeys(modes))
    method = system.course_start_method() if "processes" in modes else None
    ops = {m: default_operations(m) if operations is None else operations for m in modes}
    result = LockCost(ops, repeats, method, system.usable_cpus())
    rounds = repeats + 1  # the first is a warm-up
    groups: list[_Group] = []
    deadline = time.perf_counter() + timeout
    try:
        # Processes first: forking while this process already runs extra threads is unsafe.
        for mode in sorted(modes, key=lambda m: m != "processes"):
            for n in counts:
                groups.append(_start_group(fn, mode, n, ops[mode], rounds, timeout))
        groups.sort(key=lambda g: modes.index(g.mode))  # back to the order asked for
        _wait_until_ready(groups, deadline)
        for r in range(rounds):
            for g in groups if r % 2 == 0 else groups[::-1]:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"the lock-cost measurement took longer than {timeout:g} s "
                                       f"and was stopped.")
                g.go.wait(left)  # start this setting's round ...
                g.done.wait(max(0.01, deadline - time.perf_counter()))  # ... and wait for its end
    except threading.BrokenBarrierError:
        raise TimeoutError(f"a lock-cost worker did not arrive within {timeout:g} s; "
                           f"all workers were stopped.") from None
    finally:
        for g in groups:
            _stop_group(g)
    for g in groups:
        total = g.per_worker * g.n
        result.counts_correct &= int(g.counter[0]) == total * rounds
        point = CostPoint(g.mode, g.n, handovers_per_1000=1000 * (g.counter[2] - 1) / (total * rounds))
        for r in range(1, rounds):
            starts = [g.times[2 * (r * g.n + i)] for i in range(g.n)]
            ends = [g.times[2 * (r * g.n + i) + 1] for i in range(g.n)]
            point.ns_per_op.append((max(ends) - min(starts)) / total * 1e9)
        result.points.append(point)
    return result


# --------------------------------------------------------------------------- picture


def draw(ax: Axes, cost: LockCost) -> None:
    """Draw ns per locked increment against the number of workers: median line, min-max band."""
    from .plots import color_for

    for mode in dict.fromkeys(p.mode for p in cost.points):
        pts = cost.curve(mode)
        n = [p.n_workers for p in pts]
        color = color_for(mode)
        ax.fill_between(n, [p.low for p in pts], [p.high for p in pts], color=color, alpha=0.2, lw=0)
        lock = "threading.Lock" if mode == "threads" else "multiprocessing.Lock"
        ax.plot(n, [p.median for p in pts], "o-", color=color,
                label=f"{mode}: {lock} (median, min-max band)")
    counts = sorted({p.n_workers for p in cost.points})
    ax.set_xticks(counts)
    ax.set_xlabel("workers sharing one lock")
    ax.set_ylabel("time per locked increment (ns)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"One lock, one shared counter ({cost.usable_cpus} usable CPU(s))")
    ax.grid(alpha=0.3)
    # Below the axes, so the legend never hides a band.
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1,
              frameon=False)

"""Instruments for lesson 05 (synchronization hazards): time, draw, and free a deadlock.

The races, locks and deadlocks themselves are written in the notebook's cells.
This module only helps around them:

- :func:`time_in_turn` repeats functions the cell has shown (say, "count with
  threads, no lock" and "the same with a lock") in turn, and :func:`draw_timings`
  draws the medians with their spread.
- :class:`FreeableLock` is a ``threading.Lock`` with one extra: :meth:`~FreeableLock.free`
  makes every thread stuck in its ``acquire()`` leave. A real lock has no such
  switch -- a deadlocked thread waits until the process ends -- so the lesson
  uses it where it deadlocks *on purpose*, to end the demo. It also remembers
  who holds it and who waits for it (:func:`holds_and_waits`).
- :func:`draw_resource_graph` (threads and locks: "holds" and "waits for" arrows)
  and :func:`draw_wait_for_graph` (threads only: who waits for whom); a deadlock
  is a cycle in either (:func:`find_cycle`).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .validation import validate_int

__all__ = ["Timings", "time_in_turn", "draw_timings", "FreeableLock", "FREED",
           "holds_and_waits", "find_cycle", "wait_for_edges", "draw_resource_graph",
           "draw_wait_for_graph"]


# --------------------------------------------------------------------------- timing


@dataclass
class Timings:
    """Seconds per call of each labelled function, and what each call returned."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    results: dict[str, list] = field(default_factory=dict)

    def median(self, label: str) -> float:
        return statistics.median(self.seconds[label])

    def ratio(self, slow: str, fast: str) -> float:
        """Median of ``slow`` / median of ``fast``: how many times as long."""
        return self.median(slow) / self.median(fast)

    def __str__(self) -> str:
        rows = []
        for label, times in self.seconds.items():
            rows.append(f"{label:>12}: median {self.median(label) * 1000:8.2f} ms "
                        f"(min {min(times) * 1000:.2f}, max {max(times) * 1000:.2f}), "
                        f"returned {self.results[label]}")
        return f"{len(next(iter(self.seconds.values())))} runs of each, in turn:\n" + "\n".join(rows)


def time_in_turn(runs: Mapping[str, Callable[[], object]], repeats: int = 5) -> Timings:
    """Call each function of ``runs`` once to warm up, then ``repeats`` times, in turn.

    In turn (A, B, A, B, ...) rather than one block after the other, so a machine
    that changes speed meanwhile slows both alike. Returns the seconds of every
    call and what it returned (e.g. the updates it lost).
    """
    validate_int(repeats, "repeats", 1, 50)
    if not isinstance(runs, Mapping) or not runs or not all(map(callable, runs.values())):
        raise TypeError("runs must be a dict of label -> function to call with no arguments.")
    timings = Timings({k: [] for k in runs}, {k: [] for k in runs})
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(repeats):
        for label, fn in runs.items():
            t0 = time.perf_counter()
            result = fn()
            timings.seconds[label].append(time.perf_counter() - t0)
            timings.results[label].append(result)
    return timings


def draw_timings(ax, timings: Timings, title: str = "") -> None:
    """One bar per label: the median time (ms), min-max as error bars, every run as a dot."""
    from .plots import COLORS

    for x, times in enumerate(timings.seconds.values()):
        ms = [t * 1000 for t in times]
        med = statistics.median(ms)
        ax.bar(x, med, color=COLORS["threads"], alpha=0.5 + 0.4 * (x % 2),
               hatch="//" if x % 2 else "", edgecolor="white",
               yerr=[[med - min(ms)], [max(ms) - med]], capsize=4)
        ax.plot([x] * len(ms), ms, "k.", ms=4)
    ax.set_xticks(range(len(timings.seconds)), list(timings.seconds))
    ax.set_ylabel("time per run (ms)")
    ax.set_title(title or "median of the runs; bars: min-max, dots: each run", fontsize=9)
    ax.grid(axis="y", alpha=0.3)


# --------------------------------------------------------------------------- a lock we can free

#: ``SystemExit(FREED)`` is raised in a thread whose wait :meth:`FreeableLock.free` ended.
#: ``threading`` ends a thread on ``SystemExit`` silently, after its ``with`` blocks
#: have released what it held.
FREED = "freed by FreeableLock.free()"


class FreeableLock:
    """A ``threading.Lock`` that remembers who holds it and who waits, and can be freed.

    Use it like a lock: ``with lock:``, ``lock.acquire(timeout=...)``,
    ``lock.release()``. After :meth:`free` every thread waiting in ``acquire()`` --
    and every later blocking ``acquire()`` -- raises ``SystemExit``, which ends
    that thread quietly (its ``with`` blocks release the locks it held).
    ``yield_after=True`` lets other threads run right after each acquire, which
    makes an unlucky order of events (and so a deadlock) much more likely.
    """

    def __init__(self, name: str = "lock", yield_after: bool = False) -> None:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"name must be a non-empty string such as 'lock A', not {name!r}.")
        if not isinstance(yield_after, bool):
            raise TypeError(f"yield_after must be True or False, not {yield_after!r}.")
        self.name = name
        self.yield_after = yield_after
        self._lock = threading.Lock()
        self._freed = threading.Event()
        self._guard = threading.Lock()
        self.holder: str | None = None
        self.holder_ident: int | None = None
        self.waiting: list[str] = []
        self.acquisitions = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock; see ``threading.Lock.acquire``. Raises ``SystemExit`` once freed."""
        me = threading.current_thread()
        if not blocking:
            got = self._lock.acquire(False)
        else:
            end = None if timeout is None or timeout < 0 else time.monotonic() + timeout
            with self._guard:
                self.waiting.append(me.name)
            try:
                while True:
                    if self._freed.is_set():
                        raise SystemExit(FREED)
                    step = 0.01 if end is None else max(0.0, min(0.01, end - time.monotonic()))
                    got = self._lock.acquire(timeout=step)
                    if got or (end is not None and time.monotonic() >= end):
                        break
            finally:
                with self._guard:
                    self.waiting.remove(me.name)
        if got:
            self.holder, self.holder_ident = me.name, me.ident
            self.acquisitions += 1
            if self.yield_after:
                time.sleep(0)
        return got

    def release(self) -> None:
        self.holder, self.holder_ident = None, None
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def held_by_me(self) -> bool:
        """True if the calling thread holds this lock now."""
        return self._lock.locked() and self.holder_ident == threading.get_ident()

    def is_freed(self) -> bool:
        """True once :meth:`free` was called."""
        return self._freed.is_set()

    def free(self) -> None:
        """Make every thread stuck in ``acquire()`` (now or later) leave with ``SystemExit``."""
        self._freed.set()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        state = f"held by {self.holder!r}" if self.locked() else "free"
        return f"<FreeableLock {self.name!r}, {state}, {len(self.waiting)} waiting>"


def holds_and_waits(locks: Sequence[FreeableLock]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Who holds and who waits for each lock right now: (thread -> locks held, thread -> lock)."""
    holds: dict[str, list[str]] = {}
    waits: dict[str, str] = {}
    for lock in locks:
        if lock.locked() and lock.holder:
            holds.setdefault(lock.holder, []).append(lock.name)
        for name in list(lock.waiting):
            waits[name] = lock.name
    return holds, waits


# --------------------------------------------------------------------------- graphs


def find_cycle(holds: Mapping[str, Sequence[str]], waits: Mapping[str, str]) -> list[str]:
    """A cycle thread -> lock -> thread -> lock ... in the resource-allocation graph, or [].

    A thread *waits for* a lock; a lock is *held by* a thread. Following those
    arrows from a thread and coming back to it is a deadlock.
    """
    holder = {lock: t for t, locks in holds.items() for lock in locks}
    for start in sorted(waits):
        path, thread = [], start
        while thread in waits and thread not in path:
            path.append(thread)
            lock = waits[thread]
            path.append(lock)
            thread = holder.get(lock)
            if thread is None:
                break
        if thread is not None and thread in path:
            return path[path.index(thread):]
    return []


def wait_for_edges(holds: Mapping[str, Sequence[str]], waits: Mapping[str, str]) -> dict[str, str]:
    """The wait-for graph: thread -> the thread holding the lock it waits for."""
    holder = {lock: t for t, locks in holds.items() for lock in locks}
    return {t: holder[lock] for t, lock in waits.items() if lock in holder}


def _circle(nodes: Sequence[str]) -> dict[str, tuple[float, float]]:
    return {node: (math.cos(math.pi / 2 - 2 * math.pi * i / max(1, len(nodes))),
                   math.sin(math.pi / 2 - 2 * math.pi * i / max(1, len(nodes))))
            for i, node in enumerate(nodes)}


def _arrow(ax, pos, a: str, b: str, hot: bool, dashed: bool, label: str, size: float,
           bend: float = 0.0) -> None:
    """An arrow a -> b, bent sideways by ``bend`` (so that a -> b and b -> a do not overlap)."""
    from .plots import COLORS

    ax.annotate("", xy=pos[b], xytext=pos[a],
                arrowprops=dict(arrowstyle="-|>", lw=3 if hot else 1.5,
                                ls=(0, (1.5, 1.2)) if dashed else "-", shrinkA=size * 0.6,
                                shrinkB=size * 0.6, connectionstyle=f"arc3,rad={bend}",
                                color=COLORS["highlight"] if hot else "#444444"))
    if label:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        # the middle of matplotlib's arc3 curve: half-way to its control point
        ax.text((xa + xb) / 2 + bend * (yb - ya) / 2, (ya + yb) / 2 - bend * (xb - xa) / 2, label, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.8))


def _finish_axes(ax, title: str) -> None:
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def _label(node: str, small: bool) -> str:
    """'philosopher 3' -> 'P3', 'fork 2' -> 'F2' in big graphs; line-broken names in small ones."""
    if small:
        return node.replace(" ", "\n")
    word, _, number = node.rpartition(" ")
    return f"{word[:1].upper()}{number}" if word else node


def draw_resource_graph(ax, holds: Mapping[str, Sequence[str]], waits: Mapping[str, str],
                        title: str = "") -> None:
    """The resource-allocation graph: threads (blue circles) and locks (grey squares).

    A solid arrow lock -> thread: the thread *holds* the lock. A dashed arrow
    thread -> lock: the thread *waits for* it. A cycle (a deadlock) is orange.
    """
    from matplotlib.lines import Line2D

    from .plots import COLORS

    threads = sorted(set(holds) | set(waits))
    locks = sorted({lk for ls in holds.values() for lk in ls} | set(waits.values()))
    cycle = find_cycle(holds, waits)
    nodes = cycle + [x for x in [*threads, *locks] if x not in cycle]
    pos = _circle(nodes)
    hot = set(zip(cycle, cycle[1:] + cycle[:1]))
    small = len(nodes) <= 6
    size = 34 if small else (22 if len(nodes) <= 10 else 15)
    for t, ls in holds.items():
        for lk in ls:
            _arrow(ax, pos, lk, t, (lk, t) in hot, False, "holds" if small else "", size)
    for t, lk in waits.items():
        _arrow(ax, pos, t, lk, (t, lk) in hot, True, "waits for" if small else "", size)
    for node in threads:
        ax.plot(*pos[node], "o", ms=size, color=COLORS["threads"], zorder=3)
    for node in locks:
        ax.plot(*pos[node], "s", ms=size * 0.85, color=COLORS["ceiling"], zorder=3)
    for node in nodes:
        ax.text(*pos[node], _label(node, small), ha="center", va="center", fontsize=7,
                color="white", zorder=4, weight="bold")
    if not small:
        ax.legend(handles=[Line2D([], [], color="#444444", label="lock -> thread: holds"),
                           Line2D([], [], color="#444444", ls=(0, (1.5, 1.2)),
                                  label="thread -> lock: waits for")],
                  loc="lower right", fontsize=7, bbox_to_anchor=(1.15, -0.15))
    verdict = ("cycle (orange): deadlock" if cycle else "no cycle: nobody waits for ever")
    _finish_axes(ax, title or f"resource-allocation graph\n{verdict}")


def draw_wait_for_graph(ax, holds: Mapping[str, Sequence[str]], waits: Mapping[str, str],
                        title: str = "") -> None:
    """The wait-for graph: threads only, an arrow T1 -> T2 when T1 waits for a lock T2 holds.

    It is the resource-allocation graph with the lock nodes squeezed out; a
    deadlock is a cycle of threads (orange).
    """
    from .plots import COLORS

    edges = wait_for_edges(holds, waits)
    threads = sorted(set(holds) | set(waits))
    cycle = find_cycle(holds, waits)[::2]           # the threads of the cycle, in order
    nodes = cycle + [t for t in threads if t not in cycle]
    pos = _circle(nodes)
    hot = set(zip(cycle, cycle[1:] + cycle[:1]))
    small = len(nodes) <= 4
    size = 34 if small else 20
    for a, b in edges.items():
        _arrow(ax, pos, a, b, (a, b) in hot, False, "waits for" if small else "", size,
               bend=0.3 if edges.get(b) == a else 0.0)
    for node in nodes:
        ax.plot(*pos[node], "o", ms=size, color=COLORS["threads"], zorder=3)
        ax.text(*pos[node], _label(node, small), ha="center", va="center", fontsize=7,
                color="white", zorder=4, weight="bold")
    verdict = ("cycle (orange): deadlock" if cycle else "no cycle: nobody waits for ever")
    _finish_axes(ax, title or f"wait-for graph (threads only)\n{verdict}")

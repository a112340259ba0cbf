"""Synchronization hazards, shown with real threads and processes -- and every demo ends.

Each function here starts real threads (or processes), lets a hazard happen,
and returns a small result object you can print. Nothing can hang: every wait
has a timeout, every thread is joined, every child process is stopped.

- **Race condition** (lost update): :func:`race_threads`, :func:`race_processes`,
  and what the fix costs: :func:`lock_cost`.
- **Check-then-act**: :func:`sell_tickets` (a booking system that oversells).
- **Deadlock**: :func:`two_locks` (two locks taken in opposite order),
  :func:`find_cycle` and :func:`draw_wait_for_graph`.
- **Which operations are thread-safe**: :func:`append_from_threads`,
  :func:`cache_fill_race`, :func:`iterate_while_mutating`.

The dining philosophers live in :mod:`helpers.philosophers`, livelock and
starvation in :mod:`helpers.liveness`; they use the same building blocks
(threads named ``"hazards: ..."``, so :func:`leftover_threads` finds them all).

Making a race *reproducible*: a real read-modify-write window is tiny, and on
CPython 3.10+ the interpreter hands the GIL to another thread only at certain
points, so a plain ``counter += 1`` is rarely cut in the middle. The demos
therefore widen the window on purpose -- they *yield* (``time.sleep(0)`` for
threads, ``os.sched_yield()`` for processes) between reading and writing --
and start the workers together at a barrier. The hazard is the same one; we
only stop relying on luck to see it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "race_threads", "race_processes", "lock_cost", "draw_lock_cost", "RaceResult", "LockCost",
    "sell_tickets", "cache_fill_race", "BookingResult",
    "two_locks", "find_cycle", "draw_wait_for_graph", "DeadlockResult", "LOCK_STRATEGIES",
    "append_from_threads", "iterate_while_mutating", "StartLine", "leftover_threads",
]

#: Seconds any demo waits for its workers to meet at the starting barrier.
BARRIER_TIMEOUT = 10.0
#: Seconds a demo may run in total; then it stops waiting and raises TimeoutError.
DEFAULT_TIMEOUT = 20.0

GUARDS = ("none", "lock")
PROCESS_GUARDS = ("none", "value-lock", "lock")
WINDOWS = ("yield", "none")


# --------------------------------------------------------------------------- checks


def _check_whole(name: str, value: object, low: int, high: int) -> None:
    """Raise a plain-language error unless ``value`` is a whole number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:,} and {high:,}; got {value:,}.")


def _check_seconds(name: str, value: object, high: float = 60.0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}.")
    if not 0 < value <= high:
        raise ValueError(f"{name} must be above 0 and at most {high:g} seconds; got {value!r}.")


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")


#: Every thread started by this module has a name beginning with this.
THREAD_PREFIX = "hazards: "


def _thread(target, name: str, args: tuple = (), daemon: bool = True) -> threading.Thread:
    """A daemon thread named ``"hazards: <name>"``, so :func:`leftover_threads` can find it."""
    return threading.Thread(target=target, name=THREAD_PREFIX + name, args=args, daemon=daemon)


def _join_all(threads: Sequence[threading.Thread], deadline: float) -> None:
    """Join every thread, giving up at ``deadline`` (the threads are daemons and told to stop)."""
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    alive = [t.name for t in threads if t.is_alive()]
    if alive:
        raise TimeoutError(f"threads {', '.join(alive)} did not finish in time")


class StartLine:
    """A ``threading.Barrier`` that also waits until every thread is really *running*.

    After a barrier opens, the operating system still has to give each thread
    a CPU; on a busy machine one thread can finish a short job before another
    has even woken up, and then nothing overlaps. Here each thread, once
    through the barrier, checks in and waits (yielding) until all have.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.barrier = threading.Barrier(n)
        self.running: list[int] = []

    def wait(self, timeout: float = BARRIER_TIMEOUT) -> None:
        """Wait at the barrier, then until every thread has checked in (at most ``timeout`` s each)."""
        self.barrier.wait(timeout)
        self.running.append(1)
        deadline = time.perf_counter() + timeout
        while len(self.running) < self.n:
            if time.perf_counter() > deadline:
                raise TimeoutError("not every worker started in time")
            time.sleep(0)


def _process_start_line(barrier, arrived, n: int, pause) -> None:
    """The same as :class:`StartLine`, for processes: a barrier, then check in and wait for all."""
    barrier.wait(BARRIER_TIMEOUT)
    with arrived.get_lock():
        arrived.value += 1
    deadline = time.perf_counter() + BARRIER_TIMEOUT
    while arrived.value < n:
        if time.perf_counter() > deadline:
            raise TimeoutError("not every worker process started in time")
        pause()


# --------------------------------------------------------------------------- race condition


@dataclass
class RaceResult:
    """The outcome of one lost-update experiment."""

    mode: str            # "threads" or "processes"
    workers: int
    increments: int      # per worker
    guard: str
    window: str
    final: int           # the counter's value at the end
    seconds: float       # from the start signal to the last worker done
    start_method: str | None = None

    @property
    def expected(self) -> int:
        """What the counter would hold if no update were lost."""
        return self.workers * self.increments

    @property
    def lost(self) -> int:
        """Updates that vanished: expected minus what the counter holds."""
        return self.expected - self.final

    def __str__(self) -> str:
        how = self.mode if self.start_method is None else f"{self.mode} ({self.start_method})"
        return (f"{self.workers} {how} x {self.increments:,} increments, guard={self.guard!r}, "
                f"window={self.window!r}: counter = {self.final:,} of {self.expected:,} "
                f"-> {self.lost:,} lost ({self.seconds:.3f} s)")


class SharedCounter:
    """A counter that several threads update: just an object with a ``value`` attribute."""

    def __init__(self) -> None:
        self.value = 0


def _thread_increment(counter: SharedCounter, increments: int, guard: str, window: str,
                      lock: threading.Lock, barrier: StartLine,
                      times: list, index: int) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    start = time.perf_counter()
    for _ in range(increments):
        if guard == "lock":
            lock.acquire()
        if window == "yield":
            seen = counter.value        # 1. read
            time.sleep(0)               #    ... let another thread run ...
            counter.value = seen + 1    # 2. write what we computed from the old value
        else:
            counter.value += 1          # the same three steps, no deliberate pause
        if guard == "lock":
            lock.release()
    times[index] = (start, time.perf_counter())


def race_threads(n_threads: int = 4, increments: int = 1000, guard: str = "none",
                 window: str = "yield", timeout: float = DEFAULT_TIMEOUT) -> RaceResult:
    """Let ``n_threads`` threads each add 1 to a shared counter ``increments`` times.

    ``guard="none"``: no protection. ``guard="lock"``: each read-modify-write
    holds a ``threading.Lock``. ``window="yield"`` pauses (``time.sleep(0)``)
    between reading and writing, so another thread can run exactly there;
    ``window="none"`` is a bare ``counter.value += 1``.
    The threads start together at a barrier. Returns a :class:`RaceResult`.
    """
    _check_whole("n_threads", n_threads, 2, 32)
    _check_whole("increments", increments, 1, 5_000_000)
    _check_choice("guard", guard, GUARDS)
    _check_choice("window", window, WINDOWS)
    _check_seconds("timeout", timeout, 300)
    counter, lock = SharedCounter(), threading.Lock()
    barrier = StartLine(n_threads)
    times: list = [(0.0, 0.0)] * n_threads
    threads = [_thread(target=_thread_increment, name=f"adder-{i}", daemon=True,
                       args=(counter, increments, guard, window, lock, barrier, times, i))
               for i in range(n_threads)]
    for t in threads:
        t.start()
    _join_all(threads, time.perf_counter() + timeout)
    return RaceResult("threads", n_threads, increments, guard, window, counter.value,
                      _span(times))


def _span(times: Sequence[tuple[float, float]]) -> float:
    """Seconds from the first worker's start to the last worker's end."""
    return max(end for _, end in times) - min(start for start, _ in times)


def _process_increment(value, increments: int, guard: str, window: str, barrier, arrived,
                       times, index: int) -> None:
    """Body of one worker process in :func:`race_processes` (module level, so spawn can import it)."""
    pause = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))
    _process_start_line(barrier, arrived, len(times) // 2, pause)
    start = time.perf_counter()   # perf_counter is one clock for all processes of a machine
    for _ in range(increments):
        if guard == "lock":
            with value.get_lock():           # one lock around the whole read-modify-write
                seen = value.value
                if window == "yield":
                    pause()
                value.value = seen + 1
        elif window == "yield":
            seen = value.value               # read (with "value-lock": locked just for the read)
            pause()                          # give the CPU away on purpose
            value.value = seen + 1           # write (locked just for the write)
        else:
            value.value += 1
    times[2 * index: 2 * index + 2] = [start, time.perf_counter()]


def race_processes(n_procs: int = 2, increments: int = 2000, guard: str = "none",
                   window: str = "yield", start_method: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> RaceResult:
    """The same lost-update experiment with real processes on one shared-memory integer.

    The counter is a ``multiprocessing.Value('i')`` that lives in shared memory.

    ``guard``: ``"none"`` -- ``Value(lock=False)``, no protection;
    ``"value-lock"`` -- ``Value(lock=True)`` but a plain read then write (the
    lock guards each read and each write separately, not the pair: still loses);
    ``"lock"`` -- ``with value.get_lock():`` around the read-modify-write.
    ``window="yield"`` calls ``os.sched_yield()`` between read and write.
    ``start_method`` defaults to :func:`helpers.system.course_start_method`.
    Every child is joined (or terminated) before this returns.
    """
    _check_whole("n_procs", n_procs, 2, 8)
    _check_whole("increments", increments, 1, 2_000_000)
    _check_choice("guard", guard, PROCESS_GUARDS)
    _check_choice("window", window, WINDOWS)
    _check_seconds("timeout", timeout, 300)
    from . import system  # here, not on top: the thread demos need only the standard library

    method = start_method or system.course_start_method()
    if method not in system.start_methods():
        raise ValueError(f"Start method {method!r} does not exist here; this platform offers "
                         f"{', '.join(system.start_methods())}.")
    ctx = mp.get_context(method)
    value = ctx.Value("i", 0, lock=(guard != "none"))
    times = ctx.Array("d", 2 * n_procs, lock=False)   # (start, end) of each worker
    barrier, arrived = ctx.Barrier(n_procs), ctx.Value("i", 0)
    procs = [ctx.Process(target=_process_increment, name=f"adder-{i}", daemon=True,
                         args=(value, increments, guard, window, barrier, arrived, times, i))
             for i in range(n_procs)]
    from .launch import stop_processes

    try:
        for p in procs:
            p.start()
        deadline = time.perf_counter() + timeout
        for p in procs:
            p.join(max(0.0, deadline - time.perf_counter()))
        if any(p.is_alive() for p in procs):
            raise TimeoutError(f"the {n_procs} processes did not finish within {timeout:g} s")
        failed = [p.exitcode for p in procs if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"a worker process failed (exit codes {failed})")
    finally:
        stop_processes(procs)
    final = value.value
    spans = [(times[2 * i], times[2 * i + 1]) for i in range(n_procs)]
    return RaceResult("processes", n_procs, increments, guard, window, final, _span(spans),
                      method)


@dataclass
class LockCost:
    """Median times of the same counting job with and without a lock."""

    mode: str
    workers: int
    increments: int
    unlocked: list[float] = field(default_factory=list)
    locked: list[float] = field(default_factory=list)
    lost_unlocked: list[int] = field(default_factory=list)
    lost_locked: list[int] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Median locked time / median unlocked time (how many times slower the fix is)."""
        return statistics.median(self.locked) / statistics.median(self.unlocked)

    def __str__(self) -> str:
        med = statistics.median
        return (f"{self.workers} {self.mode} x {self.increments:,} increments, "
                f"{len(self.locked)} repeats (median, min-max):\n"
                f"  no lock : {med(self.unlocked):.4f} s ({min(self.unlocked):.4f}-"
                f"{max(self.unlocked):.4f}), lost {med(self.lost_unlocked):,.0f} (median)\n"
                f"  lock    : {med(self.locked):.4f} s ({min(self.locked):.4f}-"
                f"{max(self.locked):.4f}), lost {max(self.lost_locked):,} (max)\n"
                f"  the correct version takes {self.ratio:.1f}x as long")


def lock_cost(mode: str = "threads", workers: int = 2, increments: int = 100_000,
              repeats: int = 5, window: str = "none") -> LockCost:
    """Time the counting job without and with a lock: one warm-up, then ``repeats`` of each.

    Times are measured inside the workers, from the first worker leaving the
    starting barrier to the last worker done, so starting processes is not counted.
    """
    _check_choice("mode", mode, ("threads", "processes"))
    _check_whole("repeats", repeats, 1, 50)
    race = race_threads if mode == "threads" else race_processes
    race(workers, increments, "none", window)  # warm-up
    cost = LockCost(mode, workers, increments)
    for _ in range(repeats):
        for guard, times, lost in (("none", cost.unlocked, cost.lost_unlocked),
                                   ("lock", cost.locked, cost.lost_locked)):
            result = race(workers, increments, guard, window)
            times.append(result.seconds)
            lost.append(result.lost)
    return cost


def draw_lock_cost(ax, costs: Sequence[LockCost]) -> None:
    """Bars of the median time without and with a lock (min-max as error bars), per mode.

    Threads are blue, processes vermillion; the locked bar is hatched.
    """
    from .plots import COLORS

    labels, x = [], 0
    for cost in costs:
        color = COLORS.get(cost.mode, COLORS["ceiling"])
        for name, times, hatch in (("no lock", cost.unlocked, ""), ("lock", cost.locked, "//")):
            med = statistics.median(times)
            ax.bar(x, med, color=color, alpha=0.85, hatch=hatch, edgecolor="white",
                   yerr=[[med - min(times)], [max(times) - med]], capsize=4)
            labels.append(f"{cost.workers} {cost.mode}\n{name}")
            x += 1
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("time for all increments (s)")
    ax.set_title("Correct costs time: median of the repeats, min-max as error bars", fontsize=9)
    ax.grid(axis="y", alpha=0.3)


# --------------------------------------------------------------------------- check-then-act


@dataclass
class BookingResult:
    """Tickets sold by a booking system with ``seats`` seats."""

    seats: int
    buyers: int
    guard: str
    sold_to: list[int]

    @property
    def sold(self) -> int:
        return len(self.sold_to)

    @property
    def oversold(self) -> int:
        """Tickets sold beyond the seats that exist (0 when the system is correct)."""
        return max(0, self.sold - self.seats)

    def __str__(self) -> str:
        return (f"{self.buyers} buyers, {self.seats} seats, guard={self.guard!r}: "
                f"{self.sold} tickets sold -> oversold by {self.oversold}")


def _buy(state: dict, seats: int, buyer: int, guard: str, lock: threading.Lock,
         barrier: StartLine) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    if guard == "lock":
        lock.acquire()
    try:
        if len(state["sold_to"]) < seats:      # check: is a seat left?
            time.sleep(0)                      # (payment takes a moment: another thread runs)
            state["sold_to"].append(buyer)     # act: take it
    finally:
        if guard == "lock":
            lock.release()


def sell_tickets(seats: int = 5, buyers: int = 20, guard: str = "none",
                 timeout: float = DEFAULT_TIMEOUT) -> BookingResult:
    """``buyers`` threads each try to buy one of ``seats`` tickets at the same moment.

    Each buyer checks that a seat is left, then takes it. With ``guard="none"``
    many buyers pass the check before any of them acts, so the show is
    oversold. With ``guard="lock"`` check and act happen under one lock.
    """
    _check_whole("seats", seats, 1, 1000)
    _check_whole("buyers", buyers, 2, 64)
    _check_choice("guard", guard, GUARDS)
    state: dict = {"sold_to": []}
    lock, barrier = threading.Lock(), StartLine(buyers)
    threads = [_thread(target=_buy, name=f"buyer-{i}",
                       args=(state, seats, i, guard, lock, barrier))
               for i in range(buyers)]
    for t in threads:
        t.start()
    _join_all(threads, time.perf_counter() + timeout)
    return BookingResult(seats, buyers, guard, list(state["sold_to"]))


# --------------------------------------------------------------------------- deadlock


@dataclass
class DeadlockResult:
    """What happened when threads tried to take the same locks.

    ``holds`` and ``waits`` describe the moment the threads gave up (empty if
    nobody got stuck): thread name -> names of the locks it held / waited for.
    """

    strategy: str
    deadlocked: bool
    finished: list[str]
    holds: dict[str, list[str]]
    waits: dict[str, str]
    seconds: float
    retries: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.deadlocked:
            stuck = "; ".join(f"{t} holds {', '.join(self.holds.get(t, [])) or 'nothing'} and "
                              f"waits for {lock}" for t, lock in self.waits.items())
            gave_up = [t for t in self.waits if t not in self.finished]
            after = (f"; {', '.join(gave_up)} gave up and let go, so {', '.join(self.finished)} "
                     f"could finish" if self.finished else "; all gave up")
            return (f"strategy {self.strategy!r}: DEADLOCK detected by timeout after "
                    f"{self.seconds:.2f} s ({stuck}){after}")
        extra = ""
        if any(self.retries.values()):
            extra = " after " + ", ".join(f"{t}: {n} {'retry' if n == 1 else 'retries'}"
                                          for t, n in self.retries.items())
        return (f"strategy {self.strategy!r}: no deadlock, {len(self.finished)} threads finished "
                f"in {self.seconds:.2f} s{extra}")


LOCK_STRATEGIES = ("opposite", "ordered", "trylock")


def _transfer(name: str, locks: dict, order: tuple[str, str], strategy: str, patience: float,
              hold: float, barrier: threading.Barrier, report: dict) -> None:
    """One thread of :func:`two_locks`: take ``order[0]``, work a moment, then take ``order[1]``."""
    barrier.wait(BARRIER_TIMEOUT)
    first, second = order
    rng = random.Random()
    deadline = time.perf_counter() + patience
    while True:
        if not locks[first].acquire(timeout=max(0.01, deadline - time.perf_counter())):
            report["waits"][name] = first
            report["gave_up"].append(name)
            return
        report["holds"][name] = [first]
        try:
            time.sleep(hold)                              # work with the first lock held
            report["waits"][name] = second
            wait = 0.0 if strategy == "trylock" else max(0.0, deadline - time.perf_counter())
            if locks[second].acquire(timeout=wait) if wait else locks[second].acquire(False):
                try:
                    report["finished"].append(name)       # both locks: the job is done
                finally:
                    locks[second].release()
                report["waits"].pop(name, None)
                report["holds"].pop(name, None)
                return
            if strategy != "trylock" or time.perf_counter() > deadline:
                if not report["gave_up"]:                 # the first to give up notes who
                    report["snapshot"] = ({t: list(ls) for t, ls in report["holds"].items()},
                                          dict(report["waits"]))   # holds / waits for what
                report["gave_up"].append(name)            # waited `patience` s: assume deadlock
                return
            report["retries"][name] += 1                  # try-lock failed: let go and retry
            report["holds"].pop(name, None)
            report["waits"].pop(name, None)
        finally:
            locks[first].release()
        time.sleep(rng.uniform(0, 2 * hold))              # random back-off before retrying


def two_locks(strategy: str = "opposite", patience: float = 1.0, hold: float = 0.05,
              timeout: float = DEFAULT_TIMEOUT) -> DeadlockResult:
    """Two threads each need locks A and B. Do they deadlock?

    Both threads start together; each takes its first lock, works ``hold``
    seconds, then reaches for its second lock.

    - ``"opposite"``: thread 1 takes A then B, thread 2 takes B then A -> each
      holds what the other needs: deadlock. Detected because the second
      ``acquire`` has a timeout (``patience`` seconds); then both let go.
    - ``"ordered"``: both take A before B (one global lock order) -> no cycle.
    - ``"trylock"``: opposite order, but the second lock is only *tried*; on
      failure a thread releases what it holds, backs off a random moment and retries.
    """
    _check_choice("strategy", strategy, LOCK_STRATEGIES)
    _check_seconds("patience", patience, 30)
    _check_seconds("hold", hold, 5)
    locks = {"lock A": threading.Lock(), "lock B": threading.Lock()}
    orders = {"thread 1": ("lock A", "lock B"),
              "thread 2": ("lock A", "lock B") if strategy == "ordered" else ("lock B", "lock A")}
    report: dict = {"holds": {}, "waits": {}, "finished": [], "gave_up": [],
                    "retries": dict.fromkeys(orders, 0)}
    barrier = threading.Barrier(len(orders))
    threads = [_thread(target=_transfer, name=name,
                       args=(name, locks, order, strategy, patience, hold, barrier, report))
               for name, order in orders.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    _join_all(threads, t0 + timeout)
    seconds = time.perf_counter() - t0
    holds, waits = report.get("snapshot", ({}, {}))
    deadlocked = bool(find_cycle(holds, waits))
    retries = report["retries"] if strategy == "trylock" else {}
    return DeadlockResult(strategy, deadlocked, sorted(report["finished"]), holds, waits,
                          seconds, retries)


def find_cycle(holds: dict[str, list[str]], waits: dict[str, str]) -> list[str]:
    """A wait-for cycle as a list of nodes (thread, lock, thread, lock, ...), or [] if none.

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


def draw_wait_for_graph(ax, holds: dict[str, list[str]], waits: dict[str, str],
                        title: str = "") -> None:
    """Draw threads (circles) and locks (squares) with arrows "held by" and "waits for".

    Threads are blue, locks grey. A solid arrow from a lock to a thread means
    the thread holds it; a dashed arrow from a thread to a lock means the thread
    waits for it. A cycle -- a deadlock -- is drawn thick and orange.
    """
    import math

    from matplotlib.lines import Line2D

    from .plots import COLORS

    threads = sorted(set(holds) | set(waits))
    locks = sorted({lk for ls in holds.values() for lk in ls} | set(waits.values()))
    cycle = find_cycle(holds, waits)
    nodes = cycle + [x for x in [*threads, *locks] if x not in cycle]
    pos = {}
    for i, node in enumerate(nodes):
        angle = math.pi / 2 - 2 * math.pi * i / max(1, len(nodes))
        pos[node] = (math.cos(angle), math.sin(angle))
    in_cycle = set(zip(cycle, cycle[1:] + cycle[:1]))
    small = len(nodes) <= 6
    size = 34 if small else (22 if len(nodes) <= 10 else 15)

    def arrow(a: str, b: str, dashed: bool, label: str) -> None:
        hot = (a, b) in in_cycle
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops=dict(arrowstyle="-|>", lw=3 if hot else 1.5,
                                    ls=(0, (1.5, 1.2)) if dashed else "-", shrinkA=size * 0.6,
                                    shrinkB=size * 0.6,
                                    color=COLORS["highlight"] if hot else "#444444"))
        if small:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            ax.text((xa + xb) / 2, (ya + yb) / 2, label, ha="center", va="center", fontsize=8,
                    bbox=dict(boxstyle="round", fc="white", ec="none", alpha=0.8))

    for t, ls in holds.items():
        for lk in ls:
            arrow(lk, t, False, "held by")
    for t, lk in waits.items():
        arrow(t, lk, True, "waits for")
    for node in threads:
        ax.plot(*pos[node], "o", ms=size, color=COLORS["threads"], zorder=3)
    for node in locks:
        ax.plot(*pos[node], "s", ms=size * 0.85, color=COLORS["ceiling"], zorder=3)
    for node in nodes:
        label = node.replace(" ", "\n") if small else _short(node)
        ax.text(*pos[node], label, ha="center", va="center", fontsize=7, color="white",
                zorder=4, weight="bold")
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.axis("off")
    if not small:
        ax.legend(handles=[Line2D([], [], color="#444444", label="held by"),
                           Line2D([], [], color="#444444", ls=(0, (1.5, 1.2)), label="waits for")],
                  loc="lower right", fontsize=7, bbox_to_anchor=(1.1, -0.1))
    if title:
        verdict = title
    elif not cycle:
        verdict = "no cycle: nobody waits for ever"
    elif small:
        verdict = "cycle: " + " -> ".join(cycle + cycle[:1])
    else:
        verdict = (f"cycle through {len(cycle) // 2} threads and {len(cycle) // 2} locks "
                   f"(orange)\nP = philosopher, F = fork")
    ax.set_title(verdict, fontsize=9)


def _short(name: str) -> str:
    """'philosopher 3' -> 'P3', 'fork 2' -> 'F2', anything else: its first letter and number."""
    word, _, number = name.rpartition(" ")
    return f"{word[:1].upper()}{number}" if word else name


# --------------------------------------------------------------------------- thread-safety


def _append_many(items: list, count: int, barrier: threading.Barrier) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    for i in range(count):
        items.append(i)


def append_from_threads(n_threads: int = 4, count: int = 50_000) -> tuple[int, int]:
    """``n_threads`` threads append ``count`` items each to one list. Returns (expected, actual length).

    In CPython a single ``list.append`` is atomic (an implementation detail, not a
    language promise), so no item is lost.
    """
    _check_whole("n_threads", n_threads, 2, 32)
    _check_whole("count", count, 1, 1_000_000)
    items: list = []
    barrier = threading.Barrier(n_threads)
    threads = [_thread(target=_append_many, name="appender", args=(items, count, barrier), daemon=True)
               for _ in range(n_threads)]
    for t in threads:
        t.start()
    _join_all(threads, time.perf_counter() + DEFAULT_TIMEOUT)
    return n_threads * count, len(items)


def _fill(cache: dict, key: str, calls: list, barrier: StartLine) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    if key not in cache:               # check
        calls.append(1)                # the expensive computation runs ...
        time.sleep(0.001)
        cache[key] = len(calls)        # act
    _ = cache[key]


def cache_fill_race(n_threads: int = 8) -> int:
    """``n_threads`` threads fill the same cache entry with check-then-act on a dict.

    Returns how many times the "compute once" value was computed (1 would be correct).
    Every single dict operation is atomic; the *pair* check + set is not.
    """
    _check_whole("n_threads", n_threads, 2, 64)
    cache: dict = {}
    calls: list = []
    barrier = StartLine(n_threads)
    threads = [_thread(target=_fill, name="cache-filler", args=(cache, "answer", calls, barrier), daemon=True)
               for _ in range(n_threads)]
    for t in threads:
        t.start()
    _join_all(threads, time.perf_counter() + DEFAULT_TIMEOUT)
    return len(calls)


def iterate_while_mutating(seconds: float = 0.5) -> str | None:
    """One thread loops over a dict while another adds keys. Returns the error the reader hit (or None).

    A dict (or set) that changes size under a running ``for`` loop raises
    ``RuntimeError``; a list silently skips or repeats items instead.
    """
    _check_seconds("seconds", seconds, 10)
    data = {i: i for i in range(100)}
    stop = threading.Event()
    error: list = []

    def reader() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not error:
            try:
                for _key in data:
                    time.sleep(0)
            except RuntimeError as exc:
                error.append(f"RuntimeError: {exc}")
        stop.set()

    def writer() -> None:
        i = 100
        while not stop.is_set():
            data[i] = i
            i += 1
            time.sleep(0.0001)

    threads = [_thread(target=reader, name="reader", daemon=True),
               _thread(target=writer, name="writer", daemon=True)]
    for t in threads:
        t.start()
    try:
        _join_all(threads, time.perf_counter() + seconds + DEFAULT_TIMEOUT)
    finally:
        stop.set()
    return error[0] if error else None


def leftover_threads() -> list[str]:
    """Names of threads started by this module that are still running (empty after every demo)."""
    return [t.name for t in threading.enumerate()
            if t.name.startswith(THREAD_PREFIX) and t.is_alive()]

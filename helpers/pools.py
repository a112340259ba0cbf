"""Pools of workers with ``concurrent.futures``: map vs submit, chunk size, warm speedup.

A *pool* starts its workers once and then hands them task after task, so the
start-up cost is paid once instead of once per task::

    from helpers import pools
    with pools.open_pool("processes", 2) as pool:      # always shut down at the end
        squares = list(pool.map(pools.square, range(10), chunksize=5))

Two ways to hand out work:

- ``pool.map(fn, items)`` returns results **in the order of the items**: a
  slow first item holds back every result behind it.
- ``pool.submit(fn, item)`` returns a *future* per item; ``as_completed``
  yields the futures **in the order they finish**.

``chunksize`` (process pools only) sends items in batches: one message per
batch instead of one per item. A thread pool ignores it -- there is no message
to save, the threads share memory.

Process pools use the course's start method through ``mp_context``
(:func:`helpers.system.course_start_method`); the global default is never
changed. Worker functions live in this module so ``spawn`` children can import them.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from . import launch, system, workloads
from .measure import Point, Sweep

KINDS = ("threads", "processes")
#: Seconds a pool helper waits for its results before it stops the pool and raises.
DEFAULT_TIMEOUT = 60.0
#: More items than this in one call is almost surely a mistake.
MAX_ITEMS = 1_000_000


# --------------------------------------------------------------------------- worker functions


def square(x: int) -> int:
    """Return ``x * x``: a task so small that handing it to a worker costs more than doing it."""
    return x * x


def wait_then_square(x: int, seconds: float) -> int:
    """Wait ``seconds`` (like a slow download), then return ``x * x``."""
    workloads.sleep_for(seconds)
    return x * x


# --------------------------------------------------------------------------- checks


def check_kind(kind: object) -> None:
    """Raise a clear error unless ``kind`` is "threads" or "processes"."""
    if kind not in KINDS:
        raise ValueError(f"kind must be 'threads' or 'processes', not {kind!r}.")


def check_chunksize(chunksize: object) -> None:
    """Raise a clear error unless ``chunksize`` is a whole number of at least 1."""
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize must be a whole number of at least 1, not {chunksize!r}.")


def _check_items(items: Sequence) -> list:
    items = list(items)
    if not items:
        raise ValueError("There are no items to work on: give at least one.")
    if len(items) > MAX_ITEMS:
        raise ValueError(f"{len(items):,} items is more than this course allows ({MAX_ITEMS:,}).")
    return items


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")


# --------------------------------------------------------------------------- pools


def make_pool(kind: str, n_workers: int, start_method: str | None = None) -> Executor:
    """A new ThreadPoolExecutor or ProcessPoolExecutor with ``n_workers`` workers.

    Prefer :func:`open_pool`, which also shuts the pool down. Bad input raises
    before anything starts.
    """
    check_kind(kind)
    launch.check_worker_count(n_workers)
    if kind == "threads":
        return ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="pool")
    method = start_method or system.course_start_method()
    if method not in system.start_methods():
        raise ValueError(f"Start method {method!r} does not exist here; this platform offers "
                         f"{', '.join(system.start_methods())}.")
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context(method))


def stop_pool_now(pool: Executor) -> None:
    """Cancel the tasks still queued and stop a process pool's workers at once.

    Used when something went wrong (a timeout, an interrupt): a normal
    ``shutdown`` would wait for tasks that may never end. Threads cannot be
    stopped from outside; a thread pool just stops taking new tasks.
    """
    # A process pool keeps its workers in a private dict (there is no public way
    # to stop them before Python 3.14's terminate_workers); shutdown() forgets
    # it, so take the list first.
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:  # terminate, then kill; the pool itself joins and closes them
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(0.5)
        if proc.is_alive():
            proc.kill()
            proc.join(0.5)
    pool.shutdown(wait=True)


@contextmanager
def open_pool(kind: str, n_workers: int, start_method: str | None = None) -> Iterator[Executor]:
    """Use a pool in a ``with`` block; it is always shut down when the block ends.

    On success the pool finishes its tasks and its workers exit. If the block
    ends with an error (a timeout, "Interrupt kernel"), queued tasks are
    cancelled and worker processes are stopped, so nothing keeps running.
    """
    pool = make_pool(kind, n_workers, start_method)
    try:
        yield pool
    except BaseException:
        stop_pool_now(pool)
        raise
    pool.shutdown(wait=True)


def _check_worker_function(fn: Callable, kind: str, start_method: str | None) -> None:
    if not callable(fn):
        raise TypeError(f"The worker must be a function; got {fn!r}.")
    method = start_method or system.course_start_method()
    if kind == "processes" and method != "fork":
        launch.check_importable(fn, method)


def map_in_pool(fn: Callable, items: Sequence, kind: str = "processes", n_workers: int = 2,
                chunksize: int = 1, timeout: float = DEFAULT_TIMEOUT,
                start_method: str | None = None) -> list:
    """``fn(item)`` for every item in a fresh pool, with ``pool.map``; results in item order.

    Raises TimeoutError (after stopping the pool) if the results take longer than ``timeout`` s.
    """
    items = _check_items(items)
    check_kind(kind)
    check_chunksize(chunksize)
    _check_timeout(timeout)
    _check_worker_function(fn, kind, start_method)
    with open_pool(kind, n_workers, start_method) as pool:
        return list(pool.map(fn, items, chunksize=chunksize, timeout=timeout))


@dataclass(frozen=True)
class Arrival:
    """One result as the caller received it: which item, its result, and when (s since the start)."""

    index: int
    result: object
    seconds: float


def arrivals(fn: Callable, args_per_task: Sequence[tuple], kind: str = "threads",
             n_workers: int = 2, how: str = "map", timeout: float = DEFAULT_TIMEOUT,
             start_method: str | None = None) -> list[Arrival]:
    """Run ``fn(*args)`` per task and note when each result reached the caller.

    ``how="map"`` reads results with ``pool.map`` (item order); ``how="submit"``
    submits every task and reads them with ``as_completed`` (finishing order).
    The list is in the order the caller received the results.
    """
    if how not in ("map", "submit"):
        raise ValueError(f"how must be 'map' or 'submit', not {how!r}.")
    tasks = _check_items(args_per_task)
    for i, args in enumerate(tasks):
        if not isinstance(args, tuple):
            raise TypeError(f"Arguments for task {i} must be a tuple, e.g. (3, 0.1), not {args!r}.")
    check_kind(kind)
    _check_timeout(timeout)
    _check_worker_function(fn, kind, start_method)
    received = []
    with open_pool(kind, n_workers, start_method) as pool:
        t0 = time.perf_counter()
        if how == "map":
            for i, result in enumerate(pool.map(fn, *zip(*tasks), timeout=timeout)):
                received.append(Arrival(i, result, time.perf_counter() - t0))
        else:
            futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
            for future in as_completed(futures, timeout=timeout):
                received.append(Arrival(futures[future], future.result(), time.perf_counter() - t0))
    return received


# --------------------------------------------------------------------------- chunk size


@dataclass
class ChunkSweep:
    """Repeated wall times of one pool.map over ``n_tasks`` tiny tasks, per chunk size."""

    kind: str
    n_tasks: int
    n_workers: int
    start_method: str | None
    points: list[Point] = field(default_factory=list)  # Point.n_workers holds the chunk size

    def chunksizes(self) -> list[int]:
        return [p.n_workers for p in self.points]

    def median_of(self, chunksize: int) -> float:
        """Median wall time (s) measured with ``chunksize``."""
        for p in self.points:
            if p.n_workers == chunksize:
                return p.median
        raise KeyError(f"chunk size {chunksize} was not measured; measured: {self.chunksizes()}")

    def best_chunksize(self) -> int:
        """The chunk size with the smallest median wall time."""
        return min(self.points, key=lambda p: p.median).n_workers

    def table(self) -> str:
        rows = [f"{'chunksize':>9} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'us per task':>12}"]
        for p in self.points:
            rows.append(f"{p.n_workers:>9} {p.median * 1e3:>10.1f} {p.low * 1e3:>8.1f} "
                        f"{p.high * 1e3:>8.1f} {p.median / self.n_tasks * 1e6:>12.1f}")
        return "\n".join(rows)

    def __str__(self) -> str:
        how = self.kind if self.kind == "threads" else f"processes ({self.start_method})"
        return (f"pool.map over {self.n_tasks:,} tiny tasks, {self.n_workers} {how}\n"
                f"{self.table()}")


def default_task_count() -> int:
    """How many tiny tasks the chunk-size experiment uses (fewer in quick mode)."""
    return 1000 if system.quick_mode() else 4000


def chunksize_sweep(kind: str = "processes", chunksizes: Sequence[int] = (1, 10, 100),
                    n_tasks: int | None = None, n_workers: int = 2, repeats: int = 3,
                    timeout: float = DEFAULT_TIMEOUT, start_method: str | None = None) -> ChunkSweep:
    """Time ``pool.map(square, range(n_tasks), chunksize=c)`` for each chunk size ``c``.

    One warm pool serves every measurement (its start-up is not timed); the
    chunk sizes take turns in every repeat, so a slow moment of the machine
    does not hit only one of them.
    """
    check_kind(kind)
    n_tasks = default_task_count() if n_tasks is None else n_tasks
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, int) or not 1 <= n_tasks <= MAX_ITEMS:
        raise ValueError(f"n_tasks must be a whole number from 1 to {MAX_ITEMS:,}, not {n_tasks!r}.")
    sizes = list(dict.fromkeys(chunksizes))
    if not sizes:
        raise ValueError("Give at least one chunk size.")
    for c in sizes:
        check_chunksize(c)
    _check_repeats(repeats)
    _check_timeout(timeout)
    method = None if kind == "threads" else (start_method or system.course_start_method())
    result = ChunkSweep(kind, n_tasks, n_workers, method, [Point(kind, c) for c in sizes])
    items = range(n_tasks)
    with open_pool(kind, n_workers, start_method) as pool:
        _warm_up(pool, n_workers)
        for _ in range(repeats):
            for point in result.points:
                t0 = time.perf_counter()
                for _ in pool.map(square, items, chunksize=point.n_workers, timeout=timeout):
                    pass
                point.times.append(time.perf_counter() - t0)
    return result


def _check_repeats(repeats: object) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 100:
        raise ValueError(f"repeats must be a whole number from 1 to 100, not {repeats!r}.")


def _warm_up(pool: Executor, n_workers: int) -> None:
    """Make every worker start and import what it needs before anything is timed."""
    futures = [pool.submit(wait_then_square, i, 0.02) for i in range(n_workers)]
    for f in futures:
        f.result(timeout=60)


def draw_chunksize(ax, *sweeps: ChunkSweep) -> None:
    """Draw median wall time (and min-max band) against chunk size, one line per sweep."""
    from .plots import color_for

    for s in sweeps:
        xs = s.chunksizes()
        color = color_for(s.kind)
        ax.fill_between(xs, [p.low * 1e3 for p in s.points], [p.high * 1e3 for p in s.points],
                        color=color, alpha=0.2, lw=0)
        ax.plot(xs, [p.median * 1e3 for p in s.points], "o-", color=color,
                label=f"{s.n_workers} {s.kind} (median, min-max band)")
    ax.set_xscale("log")
    ax.set_xlabel("chunk size (items per message, log scale)")
    ax.set_ylabel("wall time for all tasks (ms)")
    if sweeps:
        ax.set_title(f"pool.map over {sweeps[0].n_tasks:,} tiny tasks")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


# --------------------------------------------------------------------------- warm speedup


def speedup_sweep(kind: str = "cpu", worker_counts: Sequence[int] = (1, 2),
                  modes: Sequence[str] = KINDS, seconds: float = 0.4, repeats: int = 3,
                  timeout: float = DEFAULT_TIMEOUT, start_method: str | None = None) -> Sweep:
    """Speedup of ``seconds`` of ``kind`` work ("cpu", "numpy", "io"; a quarter in quick mode) in *warm* pools.

    Like :func:`helpers.measure.sweep`, but the workers are started (and
    warmed up) before the clock runs, and the settings take turns in every repeat, so the result shows what the workers can
    do, not what starting them costs. Start-up is measured separately
    (:func:`helpers.measure.creation_times`). Returns a :class:`helpers.measure.Sweep`
    that :func:`helpers.plots.draw_speedup` can draw.
    """
    counts = sorted(set(worker_counts) | {1})
    for n in counts:
        launch.check_worker_count(n)
    for mode in modes:
        check_kind(mode)
    _check_repeats(repeats)
    _check_timeout(timeout)
    fn = workloads.work_function(kind)
    units = workloads.units_for(kind, seconds)  # calibrates here, before any timing
    method = start_method or system.course_start_method()
    result = Sweep(kind, workloads.scaled_seconds(seconds),
                   method if "processes" in modes else None, system.usable_cpus())
    settings = [(mode, n) for n in counts for mode in modes]
    points = {s: Point(*s) for s in settings}
    with ExitStack() as stack:
        pools_open = {(mode, n): stack.enter_context(open_pool(mode, n, method))
                      for mode, n in settings}
        for (_mode, n), pool in pools_open.items():
            _warm_up(pool, n)
        # Every setting is timed once per round, so a slow moment of a shared
        # machine spreads over all of them instead of spoiling one.
        for _ in range(repeats):
            for mode, n in settings:
                shares = workloads.split_evenly(units, n)
                t0 = time.perf_counter()
                for _ in pools_open[mode, n].map(fn, shares, timeout=timeout):
                    pass
                points[mode, n].times.append(time.perf_counter() - t0)
    result.points = [points[s] for s in settings]
    return result


def check_squares(result: object, n: int = 1000):
    """Exercise check: is ``result`` the list [0, 1, 4, ..., (n-1)**2], in order? Prints the verdict."""
    from .exercises import Feedback

    expected = [square(x) for x in range(n)]
    if result is None or result is Ellipsis:
        verdict = Feedback(False, "Replace the ... with your code, then run the cell again.")
    elif not isinstance(result, list):
        verdict = Feedback(False, f"pool.map gives an iterator; wrap it in list(...) to get a list "
                                  f"(got {type(result).__name__}).")
    elif result == expected:
        verdict = Feedback(True, f"all {n:,} squares, in the order of the items.")
    elif sorted(result) == sorted(expected):
        verdict = Feedback(False, "The right numbers, in the wrong order: pool.map keeps the "
                                  "order of the items, as_completed does not.")
    else:
        verdict = Feedback(False, f"Expected the squares of 0 to {n - 1} ({n:,} numbers); got "
                                  f"{len(result):,} numbers starting {result[:3]}.")
    print(verdict)
    return verdict


def median(times: Sequence[float]) -> float:
    """The median of some timings (half were faster, half slower)."""
    return statistics.median(times)


__all__ = [
    "Arrival", "ChunkSweep", "DEFAULT_TIMEOUT", "FuturesTimeout", "KINDS", "arrivals",
    "check_chunksize", "check_squares", "check_kind", "chunksize_sweep", "default_task_count", "draw_chunksize",
    "make_pool", "map_in_pool", "median", "open_pool", "speedup_sweep", "square", "stop_pool_now",
    "wait_then_square",
]

"""Honest timing: warm-up, repeats, medians and the spread, then speedup and efficiency.

A single timing on a shared computer is a rumour: the same loop can take
0.3 s once and 0.5 s the next time. So every number in this course is

* measured after a **warm-up** run (imports, caches and calibration out of the way),
* **repeated** several times, reported as the **median** with the **spread** (min to max),
* compared with the **measured** 1-worker time of the same mode -- never an assumed one.

Speedup   S(n) = T(1) / T(n)      -- how many times faster n workers are than one.
Efficiency E(n) = S(n) / n        -- the share of each worker that was useful (1.0 is perfect).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import launch, system, workloads
from .progress import Progress
from .validation import (
    validate_callable,
    validate_choice,
    validate_int,
    validate_sequence,
    validate_start_method,
)


class Spread:
    """Median and spread of repeated measurements kept in ``self.times``.

    Any class with a ``times`` list can inherit these three numbers.
    """

    times: list[float]

    @property
    def median(self) -> float:
        """The middle measurement: half were faster, half slower."""
        return statistics.median(self.times)

    @property
    def low(self) -> float:
        """The smallest measurement."""
        return min(self.times)

    @property
    def high(self) -> float:
        """The largest measurement."""
        return max(self.times)


@dataclass
class Timings(Spread):
    """Repeated wall times (seconds) of one function, with its name."""

    name: str
    times: list[float] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.name}: median {self.median * 1000:.2f} ms "
                f"(from {self.low * 1000:.2f} to {self.high * 1000:.2f} ms, {len(self.times)} runs)")


def compare(contenders: dict[str, Callable[[], object]], repeats: int = 5,
            warmup: bool = True) -> dict[str, Timings]:
    """Time each function of ``contenders`` ``repeats`` times, **in turn**, after one warm-up each.

    Taking the repeats in turn (A, B, A, B, ...) and not one block after the other
    means a machine that slows down for a minute slows every contender alike.
    Use it on the very functions a cell has just shown::

        measure.compare({"no lock": lambda: count(False), "lock": lambda: count(True)})
    """
    validate_int(repeats, "repeats", low=1, high=1000)
    if not isinstance(contenders, dict) or not contenders:
        raise TypeError("contenders must be a dict of name -> function with no arguments, "
                        f"not {contenders!r:.60}.")
    for name, fn in contenders.items():
        validate_callable(fn, f"contenders[{name!r}]")
    results = {name: Timings(name) for name in contenders}
    if warmup:
        for fn in contenders.values():
            fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            results[name].times.append(time.perf_counter() - t0)
    return results


@dataclass
class Point(Spread):
    """Repeated wall times of one (mode, number of workers) setting."""

    mode: str
    n_workers: int
    times: list[float] = field(default_factory=list)


@dataclass
class Sweep:
    """All measurements of a speedup experiment, with speedup and efficiency derived from them."""

    kind: str
    seconds: float
    start_method: str | None
    usable_cpus: int
    points: list[Point] = field(default_factory=list)
    stopped: bool = False

    def modes(self) -> list[str]:
        return list(dict.fromkeys(p.mode for p in self.points))

    def curve(self, mode: str) -> list[Point]:
        """The points of one mode, ordered by number of workers."""
        return sorted((p for p in self.points if p.mode == mode), key=lambda p: p.n_workers)

    def baseline(self, mode: str) -> Point | None:
        """The measured 1-worker point of ``mode`` (None until it has been measured)."""
        return next((p for p in self.points if p.mode == mode and p.n_workers == 1), None)

    def speedups(self, mode: str) -> list[tuple[int, float, float, float]]:
        """(workers, median speedup, lowest, highest) for each measured point of ``mode``.

        The spread comes from the spread of T(n): T(1) / slowest and T(1) / fastest.
        """
        base = self.baseline(mode)
        if base is None:
            return []
        t1 = base.median
        return [(p.n_workers, t1 / p.median, t1 / p.high, t1 / p.low) for p in self.curve(mode)]

    def efficiencies(self, mode: str) -> list[tuple[int, float]]:
        """(workers, median speedup / workers) for each measured point of ``mode``."""
        return [(n, s / n) for n, s, _, _ in self.speedups(mode)]

    def speedup_at(self, mode: str, n_workers: int) -> float | None:
        """Median speedup of ``mode`` with ``n_workers``, or None if not measured."""
        return next((s for n, s, _, _ in self.speedups(mode) if n == n_workers), None)

    def serial_fraction(self, mode: str) -> float | None:
        """Amdahl's serial fraction fitted to this mode's curve (None with too few points)."""
        pairs = [(n, s) for n, s, _, _ in self.speedups(mode) if n > 1]
        if not pairs:
            return None
        return fit_amdahl([n for n, _ in pairs], [s for _, s in pairs])

    def table(self) -> str:
        """A plain-text table of every point: medians, spread, speedup and efficiency."""
        rows = [f"{'mode':<10} {'workers':>7} {'median s':>9} {'min s':>7} {'max s':>7} "
                f"{'speedup':>8} {'efficiency':>10}"]
        for mode in self.modes():
            speed = {n: s for n, s, _, _ in self.speedups(mode)}
            for p in self.curve(mode):
                s = speed.get(p.n_workers)
                s_text = f"{s:8.2f} {s / p.n_workers:10.2f}" if s else f"{'-':>8} {'-':>10}"
                rows.append(f"{mode:<10} {p.n_workers:>7} {p.median:>9.3f} {p.low:>7.3f} "
                            f"{p.high:>7.3f} {s_text}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return (f"Speedup sweep: {self.seconds:g} s of {self.kind!r} work, "
                f"{self.usable_cpus} usable CPU(s)\n{self.table()}")


def sweep(kind: str = "cpu", worker_counts: Sequence[int] = (1, 2), modes: Sequence[str] = launch.MODES,
          seconds: float = 0.5, repeats: int = 3, warmup: bool = True, start_method: str | None = None,
          on_point: Callable[[Sweep, Point], None] | None = None, stop: threading.Event | None = None,
          show_progress: bool = True, timeout: float = launch.DEFAULT_TIMEOUT) -> Sweep:
    """Measure how the wall time of a fixed job falls as workers are added (strong scaling).

    For every worker count and mode, ``seconds`` of ``kind`` work is shared
    evenly among the workers and timed ``repeats`` times. A 1-worker point is
    always measured, because speedup is defined against it. ``on_point`` is
    called after each finished point (a live plot uses it); setting ``stop``
    ends the sweep early and returns what was measured (``.stopped`` is True).
    """
    for n in validate_sequence(worker_counts, "worker_counts", max_len=launch.MAX_WORKERS):
        launch.validate_worker_count(n)
    counts = sorted(set(worker_counts) | {1})
    validate_int(repeats, "repeats", low=1, high=100)
    workloads.validate_work_seconds(seconds)
    for mode in validate_sequence(modes, "modes", max_len=len(launch.MODES)):
        validate_choice(mode, "each mode", launch.MODES)
    method = validate_start_method(start_method)
    units = workloads.units_for(kind, seconds)  # calibrates once, before any timing
    # Record the work really done: quick mode (COURSE_QUICK=1) shrinks it.
    result = Sweep(kind, workloads.scaled_seconds(seconds), method if "processes" in modes else None,
                   system.usable_cpus())
    fn = workloads.work_function(kind)

    def once(mode: str, n: int) -> float:
        shares = [(u,) for u in workloads.split_evenly(units, n)]
        run = launch.run(fn, shares, mode, start_method=method, stop=stop, timeout=timeout,
                         track_cores=False, show_progress=False)
        return run.wall

    total = len(counts) * len(modes) * repeats + (len(modes) if warmup else 0)
    try:
        with Progress(total, "runs", enabled=show_progress) as bar:
            if warmup:
                for mode in modes:
                    once(mode, 1)
                    bar.update()
            for n in counts:
                for mode in modes:
                    point = Point(mode, n)
                    result.points.append(point)
                    for _ in range(repeats):
                        point.times.append(once(mode, n))
                        bar.update()
                    if on_point is not None:
                        on_point(result, point)
    except launch.RunStopped:
        result.points = [p for p in result.points if p.times]
        result.stopped = True
    return result


def fit_amdahl(workers: Sequence[int], speedups: Sequence[float]) -> float:
    """The serial fraction f that makes Amdahl's law fit measured speedups best.

    Amdahl: S(n) = 1 / (f + (1 - f) / n). Rearranged, 1/S - 1/n = f * (1 - 1/n),
    a straight line through the origin, so least squares gives
    f = sum(x*y) / sum(x*x) with x = 1 - 1/n and y = 1/S - 1/n. Clipped to [0, 1].
    """
    xs = [1 - 1 / n for n in workers if n > 1]
    ys = [1 / s - 1 / n for n, s in zip(workers, speedups, strict=True) if n > 1]
    if not xs:
        raise ValueError("Amdahl's law needs at least one measurement with more than 1 worker.")
    f = sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
    return min(1.0, max(0.0, f))


def amdahl_speedup(serial_fraction: float, n_workers: float) -> float:
    """Speedup Amdahl's law predicts for ``n_workers`` when ``serial_fraction`` of the job cannot run in parallel."""
    return 1 / (serial_fraction + (1 - serial_fraction) / n_workers)


def gustafson_speedup(serial_fraction: float, n_workers: float) -> float:
    """Gustafson's scaled speedup: the job grows with the workers, so S = n - f * (n - 1)."""
    return n_workers - serial_fraction * (n_workers - 1)


def creation_times(how: str, repeats: int = 20) -> list[float]:
    """Seconds to create, start and join one do-nothing worker, measured ``repeats`` times.

    ``how`` is ``"thread"`` or a start method (``"fork"``, ``"spawn"``, ``"forkserver"``).
    The first creation (which may start a forkserver) is a warm-up and not counted.
    """
    import multiprocessing as mp

    validate_choice(how, "how", ("thread", *system.start_methods()))
    validate_int(repeats, "repeats", low=1, high=1000)
    ctx = None if how == "thread" else mp.get_context(how)
    times = []
    for i in range(repeats + 1):
        if ctx is None:
            worker = threading.Thread(target=workloads.no_work)
        else:
            worker = ctx.Process(target=workloads.no_work, daemon=True)
        try:
            t0 = time.perf_counter()
            worker.start()
            worker.join(30)
            elapsed = time.perf_counter() - t0
            if worker.is_alive():
                raise launch.RunTimeout(f"a {how} worker doing nothing did not end within 30 s")
        finally:  # also on Ctrl-C: never leave the child running
            if ctx is not None:
                launch.stop_processes([worker])
        if i > 0:
            times.append(elapsed)
    return times

"""A decision guide built from measurements taken on *this* machine, now.

Rules of thumb ("threads for I/O, processes for computing") are only as good
as the numbers behind them, and the numbers change from a laptop to a Binder
session to a free-threaded Python. So this module measures them again --
quickly -- and prints a recommendation table with the numbers in it::

    from helpers import decision
    m = decision.measure_all()       # a few seconds
    print(decision.guide(m))         # the table, with your numbers
    decision.recommend(m, "cpu")     # "processes", "threads" or "one worker"

What it measures (each on real threads and processes):

- speedup of pure-Python (CPU-bound) work and of waiting (I/O-bound) work,
  in warm pools of threads and of processes;
- what starting one worker costs: a thread, and a process per start method;
- memory per worker: a thread vs a process (USS: the memory only it uses);
- what it costs to hand a worker a big array: a thread (same memory), a
  process through a pipe (a pickled copy), a process through shared memory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from . import launch, measure, pools, system
from .measure import Sweep
from .scaleout import array_of_mb, array_sum

SCENARIOS = {
    "cpu": "pure-Python computing (CPU-bound)",
    "io": "waiting for network or disk (I/O-bound)",
}
CHOICES = ("threads", "processes", "one worker")
#: A speedup below this is treated as "no real gain" (timings on a shared machine wobble).
#: The value is a rule of thumb chosen by the course author; see :func:`rules`.
GAIN = 1.2
#: Threads are chosen when they reach this share of the processes' speedup (author's choice too).
THREAD_SHARE = 0.8
#: Shared-memory segments made here start with this, so a leftover is easy to find.
SEGMENT_PREFIX = "course_decision_"


# --------------------------------------------------------------------------- worker functions


def wait_for(ready, go, timeout: float = 30.0) -> None:
    """Tell the parent we are alive (``ready`` queue), then wait for ``go`` (an Event)."""
    ready.put(os.getpid())
    go.wait(timeout)


def sum_shared(name: str, n_items: int) -> float:
    """Attach to the shared-memory segment ``name`` and sum its first ``n_items`` float64 values."""
    from multiprocessing import shared_memory

    import numpy as np

    try:  # Python 3.13+: attach without asking the resource tracker to remove it later
        segment = shared_memory.SharedMemory(name=name, track=False)
    except TypeError:  # before 3.13 attaching registers it again; the creator's unlink clears it
        segment = shared_memory.SharedMemory(name=name)
    try:
        view = np.ndarray((n_items,), dtype=np.float64, buffer=segment.buf)
        total = float(view.sum())
        del view
    finally:
        segment.close()
    return total


# --------------------------------------------------------------------------- measurements


def _uss(proc: psutil.Process) -> float:
    """Memory only this process uses (USS) in bytes; RSS where the OS cannot tell USS."""
    try:
        return proc.memory_full_info().uss
    except (psutil.AccessDenied, AttributeError):
        return proc.memory_info().rss


def memory_per_worker(n: int = 4, start_method: str | None = None,
                      timeout: float = 30.0) -> dict[str, float]:
    """Bytes of memory one more idle worker costs: ``{"thread": ..., "process": ...}``.

    Starts ``n`` idle threads and measures how much this process grew; starts
    ``n`` idle processes and measures the memory only they use (USS). Every
    worker is stopped before this returns.
    """
    launch.check_worker_count(n)
    me = psutil.Process()
    go = threading.Event()
    before = _uss(me)
    threads = [threading.Thread(target=go.wait, args=(timeout,), daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    thread_bytes = max(0.0, (_uss(me) - before) / n)
    go.set()
    for t in threads:
        t.join(timeout)

    method = start_method or system.course_start_method()
    ctx = mp.get_context(method)
    ready, go_procs = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=wait_for, args=(ready, go_procs, timeout), daemon=True)
             for _ in range(n)]
    try:
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=timeout)
        process_bytes = statistics.mean(_uss(psutil.Process(p.pid)) for p in procs)
    finally:
        go_procs.set()
        launch.stop_processes(procs)
        ready.close()
        ready.join_thread()
    return {"thread": thread_bytes, "process": process_bytes}


def startup_costs(repeats: int = 5) -> dict[str, float]:
    """Median seconds to create, start and join one do-nothing worker: a thread, and each start method."""
    ways = ["thread", *system.start_methods()]
    return {how: statistics.median(measure.creation_times(how, repeats)) for how in ways}


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def handover_costs(mb: float = 8, repeats: int = 5,
                   start_method: str | None = None) -> dict[str, float]:
    """Median seconds to hand an ``mb`` MB array to a warm worker and have it sum the array.

    - ``"thread"``: the thread reads the same memory; nothing is copied.
    - ``"process, pipe"``: the array is pickled, sent through a pipe and unpickled (a copy).
    - ``"process, shared memory"``: the array already lives in a shared-memory
      segment; only its name travels, the worker maps the same memory.
    """
    from multiprocessing import shared_memory

    import numpy as np

    array = array_of_mb(mb)
    results: dict[str, float] = {}
    with pools.open_pool("threads", 1) as pool:
        results["thread"] = _median_time(lambda: pool.submit(array_sum, array).result(60), repeats)
    segment = shared_memory.SharedMemory(create=True, size=array.nbytes,
                                         name=f"{SEGMENT_PREFIX}{os.getpid()}")
    try:
        np.ndarray(array.shape, dtype=array.dtype, buffer=segment.buf)[:] = array
        with pools.open_pool("processes", 1, start_method) as pool:
            results["process, pipe"] = _median_time(
                lambda: pool.submit(array_sum, array).result(60), repeats)
            results["process, shared memory"] = _median_time(
                lambda: pool.submit(sum_shared, segment.name, array.size).result(60), repeats)
    finally:
        segment.close()
        segment.unlink()
    return results


@dataclass
class Measurements:
    """Everything the decision guide is built from, measured on this machine."""

    usable_cpus: int
    gil_enabled: bool
    start_method: str
    cpu: Sweep
    io: Sweep
    startup_s: dict[str, float]
    memory_bytes: dict[str, float]
    handover_s: dict[str, float]
    handover_mb: float
    extra_rows: list[tuple[str, str, str]] = field(default_factory=list)

    def speedup(self, kind: str, mode: str) -> float:
        """Median speedup of ``mode`` at the largest worker count measured for ``kind``."""
        sweep = self.cpu if kind == "cpu" else self.io
        return sweep.speedups(mode)[-1][1]

    def workers(self, kind: str) -> int:
        sweep = self.cpu if kind == "cpu" else self.io
        return sweep.speedups("threads")[-1][0]


def measure_all(seconds: float = 0.4, repeats: int | None = None, mb: float = 8) -> Measurements:
    """Take every measurement of the guide (a few seconds; less in quick mode).

    ``repeats`` (for the CPU-bound speedup and the data hand-over) defaults to 5,
    3 in quick mode; the median of the repeats is reported.
    """
    repeats = (3 if system.quick_mode() else 5) if repeats is None else repeats
    n_cpu = max(2, min(4, system.usable_cpus()))
    method = system.course_start_method()
    return Measurements(
        usable_cpus=system.usable_cpus(),
        gil_enabled=system.gil_enabled(),
        start_method=method,
        cpu=pools.speedup_sweep("cpu", (1, n_cpu), seconds=seconds, repeats=repeats),
        # Waiting is steady (no CPU to compete for): half the time and 3 repeats are enough.
        io=pools.speedup_sweep("io", (1, 4), seconds=seconds / 2, repeats=3),
        startup_s=startup_costs(3),
        memory_bytes=memory_per_worker(2),
        handover_s=handover_costs(mb, repeats),
        handover_mb=mb,
    )


# --------------------------------------------------------------------------- the guide


def recommend(m: Measurements, scenario: str) -> str:
    """The choice your measurements support for a scenario ("cpu" or "io").

    ``"one worker"`` means neither threads nor processes gained at least
    ``GAIN`` times here (e.g. on 1 CPU, where nothing runs at the same time).
    Threads win when they reach ``THREAD_SHARE`` of the processes' speedup,
    because they start faster and need less memory. With
    the GIL on, threads cannot speed up pure-Python work, so a reading above
    1x for them there is treated as noise, not as a gain; likewise no reading
    counts above its ceiling (the worker count, and for computing the usable CPUs).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}.")
    # No run can truly beat its ceiling (n workers; for computing also the usable CPUs):
    # a higher reading means the 1-worker run was slowed by other programs.
    n = m.workers(scenario)
    ceiling = n if scenario == "io" else min(n, m.usable_cpus)
    threads = min(m.speedup(scenario, "threads"), ceiling)
    processes = min(m.speedup(scenario, "processes"), ceiling)
    if scenario == "cpu" and m.gil_enabled:
        threads = min(threads, 1.0)  # a higher reading is noise (see warnings())
    if threads >= GAIN and threads >= THREAD_SHARE * processes:
        return "threads"
    if processes >= GAIN:
        return "processes"
    return "one worker"


def rules() -> str:
    """How the guide's "choose" column is decided, in words, with the thresholds in use.

    The thresholds are rules of thumb chosen by the course author, not laws;
    change ``decision.GAIN`` or ``decision.THREAD_SHARE`` and the guide follows.
    """
    return "\n".join([
        "How the 'choose' column decides (rules of thumb picked by the course author, not laws):",
        f"- a speedup counts as a gain only from {GAIN:g}x up: smaller differences can be "
        f"timing wobble on a busy machine;",
        f"- threads are chosen if they gain and reach {THREAD_SHARE:.0%} of the processes' "
        f"speedup, because they start faster and need less memory;",
        "- no reading counts above its ceiling (the worker count; for computing also the usable "
        "CPUs): a higher one means the 1-worker run was slowed by other programs;",
        "- with the GIL on, threads count as 1x on pure-Python work, whatever they measured;",
        "- if neither gains, the choice is 'one worker'.",
        "Try other thresholds, e.g. decision.GAIN = 1.5, and print the guide again.",
    ])


def check_recommendation(answer: object, m: Measurements, scenario: str):
    """Check a learner's pick for ``scenario`` against what the measurements support."""
    from .exercises import check_choice

    expected = recommend(m, scenario)
    n = m.workers(scenario)
    threads, processes = m.speedup(scenario, "threads"), m.speedup(scenario, "processes")
    why = (f"with {n} workers your machine measured threads {threads:.2f}x and processes "
           f"{processes:.2f}x")
    ceiling = n if scenario == "io" else min(n, m.usable_cpus)
    if max(threads, processes) > ceiling:
        why += f" (a reading above the ceiling of {ceiling}x is noise and counts as {ceiling}x)"
    if answer not in CHOICES and answer not in (None, Ellipsis):
        print(f"Not yet. Answer with one of: {', '.join(repr(c) for c in CHOICES)}.")
        return None
    return check_choice(answer, expected, praise=f"{expected!r} fits: {why}.",
                        hint=f"Look at the guide's numbers again: {why}.")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def guide_rows(m: Measurements) -> list[tuple[str, str, str]]:
    """(situation, what was measured here, what to choose) for every row of the guide."""
    rows = []
    for kind in SCENARIOS:
        n = m.workers(kind)
        rows.append((SCENARIOS[kind],
                     f"{n} threads {m.speedup(kind, 'threads'):.2f}x, "
                     f"{n} processes {m.speedup(kind, 'processes'):.2f}x",
                     recommend(m, kind)))
    start = ", ".join(f"{how} {_ms(s)}" for how, s in m.startup_s.items())
    slowest = max(s for how, s in m.startup_s.items() if how != "thread")
    rows.append(("starting one worker", start,
                 f"a pool: pay it once, not per task (up to {slowest / m.startup_s['thread']:.0f}x "
                 f"a thread here)"))
    mem = m.memory_bytes
    rows.append(("memory per idle worker",
                 f"thread {mem['thread'] / 1024:.0f} kB, process {mem['process'] / 1024**2:.1f} MB",
                 "threads when you need very many workers"))
    h = m.handover_s
    rows.append((f"handing a worker {m.handover_mb:g} MB",
                 ", ".join(f"{how} {_ms(s)}" for how, s in h.items()),
                 "threads, or shared memory for processes"))
    return rows + list(m.extra_rows)


def chunk_row(sweep) -> tuple[str, str, str]:
    """A guide row from a :func:`helpers.pools.chunksize_sweep` (many tiny tasks)."""
    best = sweep.best_chunksize()
    return (f"{sweep.n_tasks:,} tiny tasks, {sweep.kind} pool",
            f"chunksize 1: {_ms(sweep.median_of(1))}, chunksize {best}: {_ms(sweep.median_of(best))}"
            if 1 in sweep.chunksizes() else sweep.table().splitlines()[-1],
            f"pool.map with chunksize {best}" if sweep.kind == "processes" else
            "any chunksize (threads ignore it)")


def dask_row(sweep: Sweep, scatter_s: float, mb: float) -> tuple[str, str, str]:
    """A guide row from a Dask speedup sweep and a scatter timing."""
    n, s, _, _ = sweep.speedups("dask")[-1]
    return ("more work than one machine's cores",
            f"{n} Dask workers {s:.2f}x; sending {mb:g} MB {_ms(scatter_s)}",
            "a cluster (Dask), when each task computes long per byte it needs")


def warnings(m: Measurements) -> list[str]:
    """Readings that cannot be right and point to a busy machine (re-run the measurement)."""
    notes = []
    if m.gil_enabled and m.speedup("cpu", "threads") >= GAIN:
        notes.append(f"Threads measured {m.speedup('cpu', 'threads'):.2f}x on pure-Python work "
                     f"although the GIL lets only one run Python at a time: other programs "
                     f"slowed the 1-worker runs. Run the measurement again.")
    for kind in SCENARIOS:
        n = m.workers(kind)
        ceiling = n if kind == "io" else min(n, m.usable_cpus)
        for mode in ("threads", "processes"):
            if m.speedup(kind, mode) > 1.1 * ceiling:
                notes.append(f"{mode} measured {m.speedup(kind, mode):.2f}x on {kind} work, above "
                             f"the ceiling of {ceiling}x: the 1-worker run was slowed by other "
                             f"programs. The recommendation counts it as {ceiling}x.")
    return notes


def guide(m: Measurements) -> str:
    """The decision guide as a text table, every number measured on this machine."""
    rows = [("situation", "measured on this machine", "choose")] + guide_rows(m)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"Measured with {m.usable_cpus} usable CPU(s), start method {m.start_method}, "
             f"GIL {'on' if m.gil_enabled else 'OFF (free-threaded)'}"]
    for i, row in enumerate(rows):
        lines.append(" | ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("-+-".join("-" * w for w in widths))
    lines += [f"Note: {note}" for note in warnings(m)]
    return "\n".join(lines)

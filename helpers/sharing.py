"""Instruments for lesson 04 (sharing data): measure the transfers the cells showed, and tidy up.

The lesson's cells send data to other processes themselves -- a ``Pipe``, a
``Queue``, a ``Manager``, an ``Array``, a ``SharedMemory`` block -- with the
worker functions of ``notebooks/workers/lesson04.py``. This module repeats those
very transfers many times and draws them:

- :func:`measure_transfers` -- give it the worker module (``import workers.lesson04 as w``);
  it starts one receiver per way (``w.pipe_echo``, ``w.queue_echo``, ``w.array_echo``,
  ``w.shm_echo``, and ``w.queue_echo`` in a *thread* for comparison), sends NumPy
  messages of each size in turn, and returns a :class:`TransferTable`
  (medians, spread, bandwidth);
- :func:`draw_transfer_times` / :func:`draw_bandwidths` -- log-log plots with the spread;
- :func:`leftover_segments` / :func:`remove_leftovers` / :func:`segment_exists` --
  find and remove shared-memory blocks whose name starts with ``course_``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from pathlib import Path
from types import ModuleType

import numpy as np

from . import launch, system
from .validation import validate_choice, validate_int, validate_seconds, validate_start_method

__all__ = ["PREFIX", "SHM_DIR", "WAYS", "PROCESS_WAYS", "TransferTable", "measure_transfers",
           "draw_transfer_times", "draw_bandwidths", "leftover_segments", "remove_leftovers",
           "segment_exists", "owner_pid", "format_bytes", "format_seconds"]

# --------------------------------------------------------------------------- shared-memory blocks

#: Every shared-memory block this course creates has a name starting with this.
PREFIX = "course_"
#: Where Linux shows shared-memory blocks as files.
SHM_DIR = Path("/dev/shm")


def segments_listable() -> bool:
    """True where the system shows shared-memory blocks as files (Linux: ``/dev/shm``)."""
    return SHM_DIR.is_dir()


def owner_pid(name: str) -> int | None:
    """The process id in a ``course_<pid>_<hex>`` block name, or None if the name is not of that form."""
    parts = name[len(PREFIX):].split("_") if name.startswith(PREFIX) else []
    if len(parts) == 2 and parts[0].isdigit():
        return int(parts[0])
    return None


def segment_exists(name: str) -> bool:
    """Is there still a shared-memory block called ``name``? (Without attaching to it.)"""
    if segments_listable():
        return (SHM_DIR / name).exists()
    try:
        import _posixshmem
    except ImportError:  # Windows: a block lives only while a process has it open
        return False
    try:
        fd = _posixshmem.shm_open("/" + name, os.O_RDONLY, mode=0o600)
    except OSError:
        return False
    os.close(fd)
    return True


def leftover_segments(only_mine: bool = True) -> list[str]:
    """Names of ``course_`` blocks in ``/dev/shm`` (Linux; elsewhere an empty list).

    ``only_mine`` (the default) keeps those whose name says this Python made
    them; False lists every ``course_`` block, e.g. ones a crashed kernel left.
    """
    if not segments_listable():
        return []
    names = [p.name for p in SHM_DIR.iterdir() if p.name.startswith(PREFIX)]
    if only_mine:
        names = [n for n in names if owner_pid(n) == os.getpid()]
    return sorted(names)


def remove_segment(name: str) -> bool:
    """Unlink block ``name`` if it exists; True if it did."""
    try:
        block = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return False
    block.close()
    block.unlink()
    return True


def remove_leftovers() -> list[str]:
    """Unlink ``course_`` blocks made by this Python or by a process that has ended; return their names.

    A block whose maker is still running is left alone: it may be in use.
    """
    import psutil

    removed = []
    for name in leftover_segments(only_mine=False):
        owner = owner_pid(name)
        if owner is None or (owner != os.getpid() and psutil.pid_exists(owner)):
            continue
        if remove_segment(name):
            removed.append(name)
    return removed


# --------------------------------------------------------------------------- measuring transfers

#: The ways to get a message to another worker that :func:`measure_transfers` compares.
WAYS = ("thread", "Pipe", "Queue", "Manager", "Array", "SharedMemory")
#: The same without the thread: the ways between *processes*.
PROCESS_WAYS = WAYS[1:]
#: Which worker function of the lesson's worker module receives each way's messages.
RECEIVERS = {"thread": "queue_echo", "Pipe": "pipe_echo", "Queue": "queue_echo",
             "Manager": "queue_echo", "Array": "array_echo", "SharedMemory": "shm_echo"}
#: Plot colours: names in :data:`helpers.plots.COLORS` (Okabe-Ito); the thread is blue as always.
WAY_COLORS = {"thread": "threads", "Pipe": "highlight", "Queue": "processes", "Manager": "dask",
              "Array": "serial", "SharedMemory": "sky"}
WAY_MARKERS = {"thread": "o", "Pipe": "s", "Queue": "^", "Manager": "v", "Array": "D",
               "SharedMemory": "P"}

KB, MB = 1000, 1000**2
#: Message sizes measured by default (bytes); quick mode measures fewer.
DEFAULT_SIZES = (1 * KB, 10 * KB, 100 * KB, 1 * MB, 10 * MB)
QUICK_SIZES = (1 * KB, 100 * KB, 1 * MB, 10 * MB)
#: The largest message :func:`measure_transfers` accepts (bytes).
MAX_MESSAGE_BYTES = 64 * MB
#: Memory one measurement needs, in multiples of the largest message (message, block, Array, pickles).
MEMORY_FACTOR = 10


class TransferTimeout(TimeoutError):
    """A receiver did not answer in time; every child was stopped."""


def default_sizes() -> list[int]:
    """:data:`DEFAULT_SIZES` (:data:`QUICK_SIZES` in quick mode) without sizes too big for free memory."""
    sizes = QUICK_SIZES if system.quick_mode() else DEFAULT_SIZES
    room = system.memory_available() // 2
    return [s for s in sizes if s * MEMORY_FACTOR <= room] or [sizes[0]]


def check_message_sizes(sizes: object) -> list[int]:
    """Message sizes in bytes, 1 to :data:`MAX_MESSAGE_BYTES`, at most 20; returned sorted, unique."""
    if isinstance(sizes, (int, str, bytes)) or not isinstance(sizes, (list, tuple, range)):
        raise TypeError(f"sizes must be a list of message sizes in bytes, e.g. [1000, 1000000]; "
                        f"got {sizes!r:.60}.")
    if not sizes:
        raise ValueError("sizes is empty: give at least one message size in bytes.")
    if len(sizes) > 20:
        raise ValueError(f"{len(sizes)} sizes is more than needed; 20 at most.")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"Each message size is a whole number of bytes; got {s!r}.")
        if s < 1:
            raise ValueError(f"A message must hold at least 1 byte; got {s}.")
        if s > MAX_MESSAGE_BYTES:
            raise ValueError(f"A {format_bytes(s)} message is more than this lesson allows "
                             f"({format_bytes(MAX_MESSAGE_BYTES)}).")
    if max(sizes) * MEMORY_FACTOR > system.memory_available() // 2:
        raise ValueError(f"Measuring {format_bytes(max(sizes))} messages needs about "
                         f"{format_bytes(max(sizes) * MEMORY_FACTOR)} of memory, but only "
                         f"{format_bytes(system.memory_available())} is free. Use smaller sizes.")
    return sorted({int(s) for s in sizes})


class _Receiver:
    """One receiving worker for one way, seen from the sender: send a message, wait for the answer."""

    def __init__(self, way: str, ctx, w: ModuleType, capacity: int, manager, block):
        self.way, self.proc, self.thread, self.view = way, None, None, None
        target = getattr(w, RECEIVERS[way])
        if way == "thread":
            self.inbox, self.outbox = queue.Queue(), queue.Queue()
            self.thread = threading.Thread(target=target, args=(self.inbox, self.outbox),
                                           name="receiver", daemon=True)
            self.thread.start()
            return
        if way in ("Queue", "Manager"):
            maker = ctx if way == "Queue" else manager
            self.inbox, self.outbox = maker.Queue(), maker.Queue()
            args = (self.inbox, self.outbox)
        else:
            self.conn, child_end = ctx.Pipe()
            if way == "Pipe":
                args = (child_end,)
            elif way == "Array":
                shared = ctx.Array("B", capacity, lock=False)
                self.view = np.frombuffer(shared, dtype=np.uint8)
                args = (child_end, shared)
            else:  # SharedMemory
                self.view = np.ndarray((capacity,), dtype=np.uint8, buffer=block.buf)
                args = (child_end, block.name)
        self.proc = ctx.Process(target=target, args=args, name=f"receiver-{way}", daemon=True)
        self.proc.start()

    def transfer(self, message: np.ndarray, timeout: float) -> float:
        """Send ``message``; wait until the receiver answers (length, last byte); return seconds."""
        n = len(message)
        t0 = time.perf_counter()
        if self.way in ("thread", "Queue", "Manager"):
            self.inbox.put(message)
            try:
                answer = self.outbox.get(timeout=timeout)
            except queue.Empty:
                answer = None
        else:
            if self.way == "Pipe":
                self.conn.send(message)
            else:  # Array, SharedMemory: copy into the shared memory, then say how much is ready
                self.view[:n] = message
                self.conn.send(n)
            answer = self.conn.recv() if self.conn.poll(timeout) else None
        elapsed = time.perf_counter() - t0
        if answer is None:
            raise TransferTimeout(f"the {self.way} receiver did not answer within {timeout:g} s")
        if tuple(answer) != (n, int(message[-1])):
            raise RuntimeError(f"the {self.way} receiver read the wrong data: {answer}")
        return elapsed

    def stop(self) -> None:
        """Send the stop message (None) and make sure the receiver has ended."""
        self.view = None
        try:
            if self.way in ("thread", "Queue", "Manager"):
                self.inbox.put(None)
            else:
                self.conn.send(None)
        except Exception:  # already gone; stop_processes below makes sure
            pass
        if self.thread is not None:
            self.thread.join(5.0)
            return
        launch.stop_processes([self.proc])
        if self.way == "Queue":
            for q in (self.inbox, self.outbox):
                q.cancel_join_thread()  # never wait for data nobody will read
                q.close()
        elif self.way != "Manager":
            self.conn.close()


@dataclass
class TransferTable:
    """Measured transfer times: ``times[(way, size)]`` is a list of seconds, one per repeat."""

    start_method: str
    sizes: list[int]
    ways: list[str]
    repeats: int
    times: dict[tuple[str, int], list[float]] = field(default_factory=dict)

    def median(self, way: str, size: int) -> float:
        """Median seconds to get a ``size``-byte message to the receiver with ``way``."""
        return statistics.median(self._times(way, size))

    def spread(self, way: str, size: int) -> tuple[float, float]:
        """(fastest, slowest) of the repeats, in seconds."""
        t = self._times(way, size)
        return min(t), max(t)

    def bandwidth(self, way: str, size: int) -> float:
        """Bytes per second: ``size`` divided by the median time."""
        return size / self.median(way, size)

    def fastest(self, size: int, ways: Sequence[str] | None = None) -> str:
        """The way with the smallest median time at ``size`` (among ``ways``, default all measured)."""
        pool = [m for m in (ways or self.ways) if m in self.ways]
        if not pool:
            raise ValueError(f"None of {list(ways or [])} was measured; measured: {self.ways}.")
        return min(pool, key=lambda m: self.median(m, size))

    def _times(self, way: str, size: int) -> list[float]:
        try:
            return self.times[(way, size)]
        except KeyError:
            raise KeyError(f"No measurement for {way!r} at {size} bytes. Measured ways: "
                           f"{self.ways}; sizes: {self.sizes}.") from None

    def table(self) -> str:
        """Median time per message (and min-max) and bandwidth, one row per way and size."""
        rows = [f"{'way':<13} {'message':>8} {'median':>10} {'fastest':>10} {'slowest':>10} "
                f"{'bandwidth':>12}"]
        for m in self.ways:
            for s in self.sizes:
                lo, hi = self.spread(m, s)
                rate = "no copy" if m == "thread" else format_bytes(self.bandwidth(m, s)) + "/s"
                rows.append(f"{m:<13} {format_bytes(s):>8} {format_seconds(self.median(m, s)):>10} "
                            f"{format_seconds(lo):>10} {format_seconds(hi):>10} {rate:>12}")
        return "\n".join(rows)

    def conclusion(self) -> str:
        """A few plain sentences about what was measured, every number taken from the table."""
        small, big = self.sizes[0], self.sizes[-1]
        between = [m for m in self.ways if m in PROCESS_WAYS]
        lines = []
        if between:
            best, worst = self.fastest(small, between), max(between,
                                                            key=lambda m: self.median(m, small))
            lines.append(
                f"Smallest message ({format_bytes(small)}): quickest to another process was "
                f"{best} ({format_seconds(self.median(best, small))} per message), slowest "
                f"{worst} ({format_seconds(self.median(worst, small))}): latency, not copying.")
            best = self.fastest(big, between)
            lines.append(f"Largest message ({format_bytes(big)}): {best} was quickest, at "
                         f"{format_bytes(self.bandwidth(best, big))}/s.")
            if "SharedMemory" in between and "Queue" in between:
                ratio = self.median("Queue", big) / self.median("SharedMemory", big)
                lines.append(f"A Queue took {ratio:.1f} times as long as SharedMemory for it.")
        if "thread" in self.ways:
            t_small, t_big = self.median("thread", small), self.median("thread", big)
            lines.append(
                f"The thread got the {format_bytes(big)} message in {format_seconds(t_big)} "
                f"(the {format_bytes(small)} one in {format_seconds(t_small)}): it was handed a "
                f"reference to the same array, nothing was copied"
                + ("." if t_big <= 3 * t_small else
                   "; the slower big one shows a busy machine (look at the spread)."))
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"Message transfer times, processes started with {self.start_method!r}, "
                f"median of {self.repeats} repeats\n{self.table()}")


def measure_transfers(workers: ModuleType, sizes: Sequence[int] | None = None,
                      ways: Sequence[str] = WAYS, repeats: int | None = None,
                      start_method: str | None = None, timeout: float = 60.0) -> TransferTable:
    """Repeat the lesson's transfers: for each size and way, time message -> receiver -> answer.

    ``workers`` is the lesson's worker module (``workers.lesson04``): its
    ``pipe_echo``, ``queue_echo``, ``array_echo`` and ``shm_echo`` are the
    receivers, one per way, started once and kept (start-up is not timed).
    A timed *transfer*: send a NumPy ``uint8`` array of ``size`` bytes (for
    ``Array``/``SharedMemory``: copy it into the shared memory and send its
    length), wait for the receiver's answer (length, last byte), check it.
    Per size: one warm-up, then ``repeats`` timed rounds, the ways taking turns
    so a busy moment hits them all alike. Defaults: :func:`default_sizes`,
    5 repeats (3 in quick mode). Bad input raises before anything starts;
    every process, the block and the Manager are gone when this returns or raises.
    """
    missing = [f for f in set(RECEIVERS.values()) if not callable(getattr(workers, f, None))]
    if missing:
        raise TypeError(f"workers must be the lesson's worker module (import workers.lesson04 "
                        f"as w); {workers!r:.60} lacks {', '.join(sorted(missing))}.")
    sizes = check_message_sizes(default_sizes() if sizes is None else sizes)
    if isinstance(ways, str):
        ways = [ways]
    if not ways:
        raise ValueError(f"ways is empty: choose some of {', '.join(WAYS)}.")
    ways = [m for m in WAYS if m in {validate_choice(m, "way", WAYS) for m in ways}]
    if repeats is None:
        repeats = 3 if system.quick_mode() else 5
    validate_int(repeats, "repeats", 1, 50)
    validate_seconds(timeout, "timeout", high=600)
    method = validate_start_method(start_method)

    ctx = mp.get_context(method)
    capacity = max(sizes)
    table = TransferTable(method, sizes, ways, repeats)
    receivers: list[_Receiver] = []
    manager = block = None
    running_before = set(mp.active_children())
    try:
        if "SharedMemory" in ways:
            block = shared_memory.SharedMemory(name=workers.course_name(), create=True,
                                               size=capacity)
        if "Manager" in ways:
            manager = ctx.Manager()
        # Processes first, the thread last: forking a process that runs threads is unsafe.
        for m in sorted(ways, key=lambda m: m == "thread"):
            receivers.append(_Receiver(m, ctx, workers, capacity, manager, block))
        count = 0
        for size in sizes:
            message = np.ones(size, dtype=np.uint8)
            for rep in range(repeats + 1):  # round 0 is the warm-up (and covers start-up)
                for r in receivers:
                    count += 1
                    message[-1] = count % 251
                    seconds = r.transfer(message, timeout)
                    if rep > 0:
                        table.times.setdefault((r.way, size), []).append(seconds)
            del message
    finally:
        for r in receivers:
            r.stop()
        receivers.clear()  # drops the views on the block before it is closed
        if manager is not None:
            manager.shutdown()
        launch.stop_processes([p for p in mp.active_children() if p not in running_before])
        if block is not None:
            block.close()
            block.unlink()
    return table


# --------------------------------------------------------------------------- drawing


def _color(way: str) -> str:
    from .plots import COLORS, CORE_COLORS

    return {**COLORS, "sky": CORE_COLORS[1]}[WAY_COLORS[way]]


def _size_axis(ax, table: TransferTable) -> None:
    """Log x axis with the measured sizes written as 1 kB, 8 MB, ..."""
    ax.set_xscale("log")
    ax.set_xticks(table.sizes, [format_bytes(s) for s in table.sizes])
    ax.minorticks_off()
    ax.set_xlabel("message size (bytes; 1 kB = 1000 bytes)")


def draw_transfer_times(ax, table: TransferTable) -> None:
    """Log-log plot of the median time per message against message size, min-max band shaded."""
    for m in table.ways:
        lo, hi = zip(*(table.spread(m, s) for s in table.sizes))
        ax.fill_between(table.sizes, lo, hi, color=_color(m), alpha=0.2, lw=0)
        ax.plot(table.sizes, [table.median(m, s) for s in table.sizes], marker=WAY_MARKERS[m],
                color=_color(m), label="thread (a reference, no copy)" if m == "thread" else m)
    _size_axis(ax, table)
    ax.set_yscale("log")
    ax.set_ylabel("time per message (s)")
    ax.set_title("Time to get one message across (lower is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


def draw_bandwidths(ax, table: TransferTable) -> None:
    """Log-log plot of bandwidth between processes (MB/s, median and min-max) against size.

    The thread is left out: it is handed a reference, so no bytes move at all.
    """
    for m in table.ways:
        if m == "thread":
            continue
        lo = [s / table.spread(m, s)[1] / MB for s in table.sizes]
        hi = [s / table.spread(m, s)[0] / MB for s in table.sizes]
        ax.fill_between(table.sizes, lo, hi, color=_color(m), alpha=0.2, lw=0)
        ax.plot(table.sizes, [table.bandwidth(m, s) / MB for s in table.sizes],
                marker=WAY_MARKERS[m], color=_color(m), label=m)
    _size_axis(ax, table)
    ax.set_yscale("log")
    ax.set_ylabel("bandwidth (MB/s)")
    ax.set_title("Bandwidth between processes (higher is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


# --------------------------------------------------------------------------- formatting


def format_bytes(n: float) -> str:
    """1000 -> '1 kB', 8_000_000 -> '8 MB' (decimal units: 1 kB = 1000 bytes)."""
    for unit, scale in (("GB", 1000**3), ("MB", MB), ("kB", KB)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.3g} B"


def format_seconds(s: float) -> str:
    """0.000042 -> '42 µs', 0.0123 -> '12.3 ms', 1.5 -> '1.5 s'."""
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"

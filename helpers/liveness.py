"""Livelock and starvation: threads that run but make no progress, and a thread that never gets a turn.

- **Livelock**: :func:`polite_pair` -- two threads that each take one lock,
  find the other taken, step aside and retry. On a fixed timetable they meet
  again every time (busy, yet no progress); a random back-off lets them through.
- **Starvation**: :func:`readers_and_writer` -- readers that keep overlapping
  never let a writer in; the writer-preferring :class:`ReadWriteLock` fixes it.

Every demo is bounded by a time limit and joins all its threads.

::

    from helpers import liveness
    print(liveness.polite_pair("fixed"))              # livelock
    print(liveness.readers_and_writer("readers"))     # the writer starves
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from .hazards import (
    BARRIER_TIMEOUT,
    DEFAULT_TIMEOUT,
    _check_choice,
    _check_seconds,
    _check_whole,
    _join_all,
    _thread,
)

__all__ = ["polite_pair", "LivelockResult", "readers_and_writer", "ReadWriteLock",
           "StarvationResult"]


# --------------------------------------------------------------------------- livelock


@dataclass
class LivelockResult:
    """Two polite threads: jobs done and retries of each, within the time limit."""

    backoff: str
    jobs: int
    done: dict[str, int]
    retries: dict[str, int]
    seconds: float

    @property
    def finished(self) -> bool:
        """True if both threads did all their jobs before the time limit."""
        return all(d == self.jobs for d in self.done.values())

    def __str__(self) -> str:
        rows = ", ".join(f"{t}: {self.done[t]}/{self.jobs} jobs, {self.retries[t]} retries"
                         for t in self.done)
        verdict = ("all jobs done" if self.finished
                   else "time limit reached: busy all the time, yet stuck (livelock)")
        return f"back-off {self.backoff!r}, {self.seconds:.2f} s: {rows} -> {verdict}"


def _polite(name: str, first: threading.Lock, second: threading.Lock, backoff: str,
            pause: float, jobs: int, start: float, end: float, done: dict,
            retries: dict) -> None:
    rng = random.Random()
    period = 3 * pause                                  # the fixed retry timetable
    _sleep_until(start)
    while done[name] < jobs and time.perf_counter() < end:
        if first.acquire(timeout=0.05):
            try:
                time.sleep(pause)                       # reach for the other lock
                if second.acquire(blocking=False):      # try it, do not wait
                    try:
                        done[name] += 1
                    finally:
                        second.release()
                    continue
                retries[name] += 1                      # taken: the other one wants it too
                time.sleep(pause)                       # hesitate a moment, then step aside
            finally:
                first.release()
        if backoff == "fixed":                          # retry at the next tick: 0, 3, 6 ... pauses
            ticks = (time.perf_counter() - start) // period + 1
            _sleep_until(start + ticks * period)
        else:
            time.sleep(rng.uniform(0, period))          # retry after a random moment


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.perf_counter()))


def polite_pair(backoff: str = "fixed", jobs: int = 3, time_limit: float = 1.0,
                pause: float = 0.01) -> LivelockResult:
    """Two threads each need both locks; each takes "its" lock first and only *tries* the other.

    When the try fails, the thread hesitates a moment, releases its lock and
    retries later -- politely stepping aside. ``backoff="fixed"``: both retry on
    the same fixed timetable (every ``3 * pause`` seconds, like clients that
    retry "on the next tick"), so they meet again every time and keep colliding:
    a livelock, busy but no progress. ``backoff="random"``: each waits a random
    time, they drift apart, and the jobs get done. Bounded by ``time_limit`` seconds.
    """
    _check_choice("backoff", backoff, ("fixed", "random"))
    _check_whole("jobs", jobs, 1, 1000)
    _check_seconds("time_limit", time_limit, 30)
    _check_seconds("pause", pause, 1)
    a, b = threading.Lock(), threading.Lock()
    names = ("left-first", "right-first")
    done, retries = dict.fromkeys(names, 0), dict.fromkeys(names, 0)
    t0 = time.perf_counter()
    start, end = t0 + 0.05, t0 + 0.05 + time_limit     # both begin at the same moment
    threads = [_thread(target=_polite, name=names[0],
                       args=(names[0], a, b, backoff, pause, jobs, start, end, done, retries)),
               _thread(target=_polite, name=names[1],
                       args=(names[1], b, a, backoff, pause, jobs, start, end, done, retries))]
    for t in threads:
        t.start()
    _join_all(threads, end + DEFAULT_TIMEOUT)
    return LivelockResult(backoff, jobs, done, retries, time.perf_counter() - t0)


# --------------------------------------------------------------------------- starvation


class ReadWriteLock:
    """Many readers at once, or one writer alone. Built on ``threading.Condition``.

    ``prefer_writers=False`` lets a new reader in whenever other readers are
    inside -- so while readers keep overlapping, a waiting writer never gets
    its turn (starvation). ``prefer_writers=True`` stops letting new readers
    in as soon as a writer is waiting: the readers inside finish, the writer
    writes, then reading goes on.
    """

    def __init__(self, prefer_writers: bool = False) -> None:
        self.prefer_writers = prefer_writers
        self._cond = threading.Condition()
        self._readers = 0          # readers inside now
        self._writing = False      # a writer inside now
        self._writers_waiting = 0

    def acquire_read(self, timeout: float) -> bool:
        """Enter as a reader; wait at most ``timeout`` s. True if we got in."""
        with self._cond:
            def may_read() -> bool:
                blocked = self._writing or (self.prefer_writers and self._writers_waiting > 0)
                return not blocked
            if not self._cond.wait_for(may_read, timeout):
                return False
            self._readers += 1
            return True

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            self._cond.notify_all()

    def acquire_write(self, timeout: float) -> bool:
        """Enter as the only writer; wait at most ``timeout`` s. True if we got in."""
        with self._cond:
            self._writers_waiting += 1
            try:
                if not self._cond.wait_for(lambda: not self._writing and self._readers == 0,
                                           timeout):
                    return False
            finally:
                self._writers_waiting -= 1
            self._writing = True
            return True

    def release_write(self) -> None:
        with self._cond:
            self._writing = False
            self._cond.notify_all()


@dataclass
class StarvationResult:
    """How often each thread got in, and the writer's longest wait, in the same time."""

    prefer: str
    entries: dict[str, int]
    writer_longest_wait: float   # seconds; the whole run if the writer never got in
    seconds: float

    @property
    def writer_starved(self) -> bool:
        """True if the writer never got in during the whole run."""
        return self.entries["writer"] == 0

    def __str__(self) -> str:
        rows = ", ".join(f"{t}: {n}" for t, n in self.entries.items())
        verdict = ("the writer STARVED: it never got in" if self.writer_starved
                   else f"the writer's longest wait was {self.writer_longest_wait * 1000:.0f} ms")
        return f"prefer {self.prefer}, {self.seconds:.2f} s, times in: {rows} -> {verdict}"


def _reader(name: str, rw: ReadWriteLock, hold: float, end: float,
            barrier: threading.Barrier, entries: dict) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    time.sleep(hold * int(name.split()[-1]) / 3)        # arrive a little apart, then overlap
    while time.perf_counter() < end:
        if rw.acquire_read(timeout=0.05):
            try:
                time.sleep(hold)                        # read for a while
                entries[name] += 1
            finally:
                rw.release_read()


def _writer(rw: ReadWriteLock, hold: float, end: float, barrier: threading.Barrier,
            entries: dict, waits: list) -> None:
    barrier.wait(BARRIER_TIMEOUT)
    time.sleep(hold)                                    # the readers are already busy
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        got_in = False
        while not got_in and time.perf_counter() < end:
            got_in = rw.acquire_write(timeout=0.05)
        if got_in and time.perf_counter() >= end:       # got in only because the readers left
            rw.release_write()
            got_in = False
        waits.append(time.perf_counter() - t0)          # how long this write had to wait
        if not got_in:
            return                                      # time is up
        try:
            time.sleep(hold / 5)                        # write something short
            entries["writer"] += 1
        finally:
            rw.release_write()
        time.sleep(hold)                                # then wait before the next write


def readers_and_writer(prefer: str = "readers", readers: int = 3, seconds: float = 0.5,
                       hold: float = 0.01) -> StarvationResult:
    """``readers`` threads keep reading a shared record while one writer wants to update it.

    Each reader holds the read lock ``hold`` seconds and comes straight back;
    since the readers overlap, there is almost always someone reading.
    ``prefer="readers"``: new readers may always join -> the writer starves.
    ``prefer="writers"``: a waiting writer stops new readers -> it gets in soon.
    Bounded by ``seconds``; returns a :class:`StarvationResult`.
    """
    _check_choice("prefer", prefer, ("readers", "writers"))
    _check_whole("readers", readers, 2, 16)
    _check_seconds("seconds", seconds, 30)
    _check_seconds("hold", hold, 1)
    rw = ReadWriteLock(prefer_writers=(prefer == "writers"))
    entries = {f"reader {i}": 0 for i in range(readers)} | {"writer": 0}
    waits: list[float] = []
    barrier = threading.Barrier(readers + 1)
    t0 = time.perf_counter()
    end = t0 + seconds
    threads = [_thread(target=_reader, name=f"reader {i}",
                       args=(f"reader {i}", rw, hold, end, barrier, entries))
               for i in range(readers)]
    threads.append(_thread(target=_writer, name="writer",
                           args=(rw, hold, end, barrier, entries, waits)))
    for t in threads:
        t.start()
    _join_all(threads, end + DEFAULT_TIMEOUT)
    return StarvationResult(prefer, entries, max(waits, default=seconds),
                            time.perf_counter() - t0)

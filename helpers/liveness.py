"""Starvation: a thread that never gets its turn (lesson 05; the livelock demo is in the notebook).

:func:`readers_and_writer` -- readers that keep overlapping never let a writer
in; the writer-preferring :class:`ReadWriteLock` fixes it. The run is bounded
by a time limit and joins all its threads.

::

    from helpers import liveness
    print(liveness.readers_and_writer("readers"))     # the writer starves
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .safety import join_all
from .validation import validate_choice, validate_int, validate_seconds

#: Seconds a thread waits for the others at the starting barrier.
BARRIER_TIMEOUT = 10.0
#: Seconds a run may take beyond its own time limit before it is given up.
DEFAULT_TIMEOUT = 20.0

__all__ = ["readers_and_writer", "ReadWriteLock", "StarvationResult"]


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
    validate_choice(prefer, "prefer", ("readers", "writers"))
    validate_int(readers, "readers", 2, 16)
    validate_seconds(seconds, "seconds", 0, 30)
    validate_seconds(hold, "hold", 0, 1)
    rw = ReadWriteLock(prefer_writers=(prefer == "writers"))
    entries = {f"reader {i}": 0 for i in range(readers)} | {"writer": 0}
    waits: list[float] = []
    barrier = threading.Barrier(readers + 1)
    t0 = time.perf_counter()
    end = t0 + seconds
    threads = [threading.Thread(daemon=True, target=_reader, name=f"reader {i}",
                       args=(f"reader {i}", rw, hold, end, barrier, entries))
               for i in range(readers)]
    threads.append(threading.Thread(daemon=True, target=_writer, name="writer",
                           args=(rw, hold, end, barrier, entries, waits)))
    for t in threads:
        t.start()
    join_all(threads, end + DEFAULT_TIMEOUT)
    return StarvationResult(prefer, entries, max(waits, default=seconds),
                            time.perf_counter() - t0)

"""Jobs to run in parallel, sized in seconds instead of loop counts.

Three kinds of work, because they behave differently under threads:

- ``"cpu"``   -- pure-Python arithmetic. Holds the GIL the whole time.
- ``"numpy"`` -- NumPy math on arrays. NumPy releases the GIL inside its loops.
- ``"io"``    -- waiting, like a network or disk request; simulated with
                 ``time.sleep``, which also releases the GIL.

Each job takes a number of *units*. :func:`calibrate` measures how many units
take a given number of seconds on *this* machine, so a lesson can ask for
"0.5 s of work" and get about that on a slow Binder CPU or a fast laptop.

Every function here lives in an importable module on purpose: under the
``spawn`` and ``forkserver`` start methods a child process starts a fresh
Python that imports the function by name. A function typed into a notebook
cell cannot be found that way.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from . import system

KINDS = ("cpu", "numpy", "io")

#: Loop iterations in one unit of CPU work (about a millisecond on a laptop).
CPU_UNIT = 10_000
#: Array length for one unit of NumPy work (fits in a core's cache).
NUMPY_UNIT = 20_000
#: Seconds of waiting in one unit of I/O work.
IO_UNIT = 0.001
#: The biggest job one worker may be given, in seconds of work (a sanity cap).
MAX_SECONDS = 600.0

#: Set by the launcher to ask running *threads* to stop early (threads cannot be killed).
STOP = threading.Event()


class RunStopped(RuntimeError):
    """Raised inside a worker when the run was stopped (Stop button, interrupt, timeout)."""


def _check_stop() -> None:
    if STOP.is_set():
        raise RunStopped("the run was stopped before this worker finished")


def cpu_work(units: int) -> int:
    """Pure-Python arithmetic: ``units`` x 10,000 loop iterations. Holds the GIL."""
    total = 0
    for _ in range(units):
        _check_stop()
        for i in range(CPU_UNIT):
            total += i * i % 7
    return total


def numpy_work(units: int) -> float:
    """NumPy math on a small array, ``units`` times. NumPy releases the GIL while it computes."""
    import numpy as np

    a = np.linspace(0.0, 1.0, NUMPY_UNIT)
    out = np.empty_like(a)
    total = 0.0
    for _ in range(units):
        _check_stop()
        np.sin(a, out=out)
        np.exp(out, out=out)
        np.sqrt(out, out=out)
        total += float(out[-1])
    return total


def io_work(units: int) -> int:
    """Wait ``units`` milliseconds, like a request to a slow server. Releases the GIL."""
    for _ in range(units):
        _check_stop()
        time.sleep(IO_UNIT)
    return units


def no_work() -> None:
    """Do nothing: used to measure what starting a thread or process costs."""
    return None


def crash_with_exception(message: str = "this worker failed on purpose") -> None:
    """Raise an exception (to show what a failing worker looks like)."""
    raise ValueError(message)


def crash_hard(exit_code: int = 1) -> None:
    """End the worker's process at once with ``os._exit`` (no clean-up, no exception)."""
    import os

    os._exit(exit_code)


def sleep_for(seconds: float) -> float:
    """Sleep ``seconds`` in small steps that notice a stop request. Returns the seconds slept."""
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        _check_stop()
        time.sleep(min(left, 0.05))
    return seconds


WORK_FUNCTIONS: dict[str, Callable[[int], object]] = {
    "cpu": cpu_work,
    "numpy": numpy_work,
    "io": io_work,
}


def work_function(kind: str) -> Callable[[int], object]:
    """The function for a kind of work ("cpu", "numpy" or "io")."""
    try:
        return WORK_FUNCTIONS[kind]
    except KeyError:
        raise ValueError(
            f"Unknown kind of work {kind!r}. Choose one of: {', '.join(KINDS)}."
        ) from None


_calibration: dict[str, float] = {}  # kind -> seconds per unit, measured once per process


def seconds_per_unit(kind: str) -> float:
    """Measured seconds one unit of ``kind`` takes on this machine (cached after the first call).

    Runs the job with more and more units until one run takes at least 50 ms,
    then takes the median of three runs of that size.
    """
    fn = work_function(kind)
    if kind == "io":
        return IO_UNIT
    if kind not in _calibration:
        units = 1
        while True:
            t0 = time.perf_counter()
            fn(units)
            if time.perf_counter() - t0 >= 0.05 or units >= 1 << 20:
                break
            units *= 2
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn(units)
            times.append(time.perf_counter() - t0)
        _calibration[kind] = statistics.median(times) / units
    return _calibration[kind]


def scaled_seconds(seconds: float) -> float:
    """``seconds``, shrunk to a quarter in quick mode (``COURSE_QUICK=1``)."""
    return seconds / 4 if system.quick_mode() else seconds


def units_for(kind: str, seconds: float) -> int:
    """How many units of ``kind`` take about ``seconds`` here (quick mode shrinks it; at least 1).

    Raises ValueError for a negative, zero or absurd duration.
    """
    validate_work_seconds(seconds)
    return max(1, round(scaled_seconds(seconds) / seconds_per_unit(kind)))


def validate_work_seconds(seconds: object, name: str = "seconds") -> float:
    """Refuse an amount of work unless it is a number of seconds above 0 and at most MAX_SECONDS."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        raise TypeError(f"{name}: the amount of work is given in seconds (a number), "
                        f"not {seconds!r}.")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"{name}: asked for {seconds} s of work. Use a duration above 0 and at most "
            f"{MAX_SECONDS:g} s; a few seconds are enough to see every effect in this course."
        )
    return float(seconds)


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` units into ``parts`` shares that differ by at most one.

    Balanced shares matter: if one worker gets more, everyone waits for it.

    >>> split_evenly(10, 3)
    [4, 3, 3]
    """
    if parts < 1:
        raise ValueError(f"Cannot split work into {parts} parts; use 1 or more.")
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]

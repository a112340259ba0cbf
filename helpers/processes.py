"""Instruments for lesson 01: the OS's own list of threads, and the cost of creating workers.

The lesson creates, starts and joins its threads and processes in the cells.
These functions only *look* at what the cells do, or repeat it many times:

- :func:`os_thread_ids` -- the thread ids the operating system lists for a process;
- :func:`creation_costs` -- create, start and join a do-nothing worker many times,
  for a thread and for each start method (the loop the lesson shows once, repeated);
- :func:`draw_creation_costs` -- every timing a dot, the median a bar.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics

import psutil

from . import launch, measure, system
from .validation import validate_choice, validate_int, validate_sequence

__all__ = ["os_thread_ids", "ids_comparable", "creation_repeats", "creation_costs",
           "draw_creation_costs"]


def os_thread_ids(pid: int | None = None) -> list[int]:
    """The ids the operating system gives the threads of process ``pid`` (default: this one).

    Linux lists them in ``/proc/<pid>/task``; elsewhere psutil asks the OS.
    On Linux and Windows these are the numbers ``threading.get_native_id()``
    returns; macOS numbers its threads differently.
    """
    pid = os.getpid() if pid is None else validate_int(pid, "pid", low=1)
    try:
        if os.path.isdir("/proc/self/task"):  # Linux
            return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))
        return sorted(t.id for t in psutil.Process(pid).threads())
    except (FileNotFoundError, psutil.NoSuchProcess):
        raise ValueError(f"There is no process with pid {pid}.") from None


def ids_comparable() -> bool:
    """True where ``threading.get_native_id()`` and :func:`os_thread_ids` use the same numbers."""
    return os.path.isdir("/proc/self/task") or os.name == "nt"


def creation_repeats(how: str) -> int:
    """How many times to create a worker of kind ``how`` (fewer for slow kinds and in quick mode)."""
    full = {"thread": 200, "fork": 40}.get(how, 15)
    return max(5, full // 4) if system.quick_mode() else full


def creation_costs(kinds: list[str] | None = None) -> dict[str, list[float]]:
    """Seconds to create, start and join one do-nothing worker, many times, for each kind.

    ``kinds`` are ``"thread"`` and start methods; by default the thread and
    every start method this platform has. Uses :func:`helpers.measure.creation_times`
    (one warm-up creation each, not counted).
    """
    allowed = ["thread", *system.start_methods()]
    kinds = allowed if kinds is None else validate_sequence(kinds, "kinds", max_len=len(allowed) * 2)
    for how in kinds:
        validate_choice(how, "kinds", allowed)
    before = set(mp.active_children())
    try:
        return {how: measure.creation_times(how, creation_repeats(how)) for how in kinds}
    except BaseException:
        # Interrupted (Ctrl-C, "Interrupt kernel"): stop the child being timed, none other.
        launch.stop_processes([p for p in mp.active_children() if p not in before])
        raise


def draw_creation_costs(ax, times: dict[str, list[float]]) -> None:
    """Draw every measured creation time as a dot (log scale, ms), the median as a bar, the range as a line."""
    from .plots import COLORS

    for x, (how, values) in enumerate(times.items()):
        color = COLORS["threads"] if how == "thread" else COLORS["processes"]
        ms = [v * 1000 for v in values]
        k = len(ms)
        offsets = [(i / max(1, k - 1) - 0.5) * 0.4 for i in range(k)]
        ax.scatter([x + o for o in offsets], ms, s=10, alpha=0.5, color=color)
        ax.vlines(x, min(ms), max(ms), color=color, lw=1)
        median = statistics.median(ms)
        ax.hlines(median, x - 0.3, x + 0.3, color="black", lw=2)
        ax.annotate(_ms_text(median), (x + 0.32, median), va="center", fontsize="small")
    ax.set_xticks(range(len(times)), [h if h == "thread" else f"process\n({h})" for h in times])
    ax.set_yscale("log")
    ax.set_ylabel("time to create, start and join (ms, log scale)")
    ax.set_xlim(-0.6, len(times) - 0.1)
    ax.set_title("One do-nothing worker: every run a dot, the median a black bar")
    ax.grid(axis="y", alpha=0.3, which="both")


def _ms_text(ms: float) -> str:
    """Milliseconds with sensible digits: '0.12 ms', '4.3 ms', '790 ms'."""
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"

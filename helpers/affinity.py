"""CPU affinity: tell the operating system which cores a process may run on ("pinning").

Normally the OS scheduler decides, many times a second, which core runs which
process, and it moves processes around. An *affinity mask* limits that choice::

    from helpers import affinity
    affinity.pinning_supported()        # True on Linux
    affinity.allowed_cores()            # e.g. [0, 1]: the cores this Python may use
    affinity.spread_over_cores(3)       # [[0], [1], [0]]: one core per worker, in turn

To watch the scheduler, :func:`run_and_watch` runs workers while a thread
notes, every few milliseconds, which core each child process is on
(:class:`LiveCoreView` draws it as it happens), and :func:`compare_placements`
times the same job pinned and unpinned, with repeats.

The functions that do the pinning (:func:`pinned_work`, :func:`pinned_call`)
run *inside* the worker process, so each worker pins only itself. They live
in this module on purpose: a ``spawn`` child can import them by name.

Only Linux (and some BSDs) have ``os.sched_setaffinity``. On macOS there is no
way to pin a process at all; on Windows ``psutil.Process().cpu_affinity([...])``
can do it, but this course keeps to the standard library. Where pinning is not
possible the pinning functions run the work unpinned and say so in their result,
and :func:`unsupported_reason` gives the plain-language explanation.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import system, workloads
from .launch import RunTimeout
from .measure import Spread


def pinning_supported() -> bool:
    """True if this operating system lets a process choose its cores (``os.sched_setaffinity``)."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def unsupported_reason() -> str:
    """Why pinning is not available here, in plain words ('' if it is available)."""
    if pinning_supported():
        return ""
    name = platform.system()
    if name == "Darwin":
        return ("macOS does not let a program pin a process to a core: the scheduler always "
                "decides. The pinning demos run unpinned here; compare with a Linux machine "
                "(e.g. the course's Binder link).")
    if name == "Windows":
        return ("Python's os module has no sched_setaffinity on Windows (psutil's "
                "Process().cpu_affinity() or 'start /affinity' can pin there). The pinning "
                "demos run unpinned here.")
    return (f"{name} offers no os.sched_setaffinity to Python, so processes cannot be pinned "
            f"here. The pinning demos run unpinned.")


def allowed_cores() -> list[int] | None:
    """The cores this process may run on, or None where the OS does not say.

    Under ``taskset -c 0`` (or a container limited to one CPU) this is ``[0]``.
    """
    return system.affinity_cpus()


def check_cores(cores: Sequence[int]) -> list[int]:
    """Return ``cores`` as a sorted list, or raise a clear error if they cannot be used here.

    The cores must be whole numbers taken from :func:`allowed_cores` (where the
    OS does not say, from 0 to the number of logical CPUs - 1).
    Raises ValueError (bad numbers) or TypeError (not a list of whole numbers).
    """
    if isinstance(cores, (str, bytes)) or not isinstance(cores, (Sequence, set, frozenset)):
        raise TypeError(f"Give the cores as a list of core numbers, e.g. [0] or [0, 1]; "
                        f"got {cores!r}.")
    cores = list(cores)
    if not cores:
        raise ValueError("A process needs at least one core to run on; the list is empty.")
    for c in cores:
        if isinstance(c, bool) or not isinstance(c, int):
            raise TypeError(f"Core numbers are whole numbers such as 0 or 1, not {c!r}.")
    allowed = allowed_cores()
    if allowed is None:  # the OS does not say (macOS): every core it reports exists
        allowed = list(range(system.logical_cpus()))
    bad = sorted(set(cores) - set(allowed))
    if bad:
        raise ValueError(
            f"Core(s) {bad} cannot be used: this Python may only run on cores {allowed}. "
            f"Pick cores from that list (affinity.allowed_cores())."
        )
    return sorted(set(cores))


def pin_this_process(cores: Sequence[int]) -> list[int] | None:
    """Pin the calling process to ``cores``; return the cores it may now use.

    Returns None (and changes nothing) where pinning is not supported. Raises
    ValueError with a plain explanation for cores that are not allowed here.
    """
    wanted = check_cores(cores)
    if not pinning_supported():
        return None
    os.sched_setaffinity(0, wanted)
    return sorted(os.sched_getaffinity(0))


def pinned_call(cores: Sequence[int] | None, fn: Callable[..., Any], *args: Any) -> dict:
    """Pin this process to ``cores`` (None = leave it to the OS), then return ``fn(*args)``.

    Meant to run *inside* a worker process, e.g.::

        launch.run(affinity.pinned_call, [([0], workloads.cpu_work, 100)] * 2)

    Returns ``{"result": ..., "pinned_to": [...] or None, "pid": ...}``;
    ``pinned_to`` is None when the process ran unpinned.
    """
    pinned_to = None if cores is None else pin_this_process(cores)
    return {"result": fn(*args), "pinned_to": pinned_to, "pid": os.getpid()}


def pinned_work(cores: Sequence[int] | None, units: int) -> dict:
    """Pin this process to ``cores`` (None = unpinned), then do ``units`` of pure-Python CPU work.

    Shorthand for ``pinned_call(cores, workloads.cpu_work, units)``.
    """
    return pinned_call(cores, workloads.cpu_work, units)


def spread_over_cores(n_workers: int, cores: Sequence[int] | None = None) -> list[list[int]]:
    """One core per worker, taking the allowed cores in turn: 3 workers on [0, 1] -> [[0], [1], [0]].

    With one allowed core every worker gets the same core: "different cores"
    is impossible there. Without affinity information, cores 0, 1, ... up to
    the logical CPU count are used.
    """
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"Need a whole number of workers of at least 1, not {n_workers!r}.")
    if cores is None:
        cores = allowed_cores() or list(range(system.logical_cpus()))
    cores = check_cores(cores)
    return [[cores[i % len(cores)]] for i in range(n_workers)]


def same_core(n_workers: int, core: int | None = None) -> list[list[int]]:
    """Every worker on one core (the first allowed core unless ``core`` is given)."""
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"Need a whole number of workers of at least 1, not {n_workers!r}.")
    if core is None:
        core = (allowed_cores() or [0])[0]
    check_cores([core])
    return [[core] for _ in range(n_workers)]


def topology(root: str | Path = "/sys/devices/system/cpu") -> list[dict[str, int]] | None:
    """Which logical CPU sits on which physical core and chip (socket), or None where unknown.

    Reads Linux's ``/sys/devices/system/cpu/cpuN/topology``. Two logical CPUs
    with the same ``core`` number on the same ``package`` are hyperthreads
    (SMT siblings): they share one core's arithmetic units.
    """
    root = Path(root)
    rows = []
    for cpu_dir in sorted(root.glob("cpu[0-9]*"), key=lambda p: int(p.name[3:])):
        try:
            core = int((cpu_dir / "topology" / "core_id").read_text())
            package = int((cpu_dir / "topology" / "physical_package_id").read_text())
        except (OSError, ValueError):
            continue
        rows.append({"cpu": int(cpu_dir.name[3:]), "core": core, "package": package})
    return rows or None


# --------------------------------------------------------------------------- watching the scheduler


@dataclass(frozen=True)
class CoreSample:
    """One look at a worker process: when (s), which process, which core, share of the time running.

    ``pinned`` is True when the OS reported that the process's affinity mask
    was narrower than this Python's at that moment (it had pinned itself).
    """

    time: float
    pid: int
    core: int
    busy: float
    pinned: bool = False


#: Seconds a run may take to stop after it was asked to (launch.run needs about one).
STOP_GRACE = 30.0


def run_and_watch(run: Callable[[threading.Event], Any], every: float = 0.02,
                  on_update: Callable[[list[CoreSample]], None] | None = None,
                  update_every: float = 0.25, timeout: float = 120.0) -> tuple[Any, list[CoreSample]]:
    """Call ``run(stop)`` in a background thread and, meanwhile, note which core each child process is on.

    ``run`` receives a ``threading.Event`` and should pass it on as
    ``launch.run(..., stop=stop)``: if this call is interrupted (Ctrl-C,
    "Interrupt kernel") or takes longer than ``timeout`` seconds
    (:class:`helpers.launch.RunTimeout`), the event is set, so the workers
    are stopped too.

    A second background thread looks every ``every`` seconds at each child
    process of this Python (Linux ``/proc``): the core it is on and how much
    CPU time it used since the last look. ``on_update(samples)`` is called
    from the calling thread about every ``update_every`` seconds -- e.g. to
    redraw a live figure -- and once at the end. Returns ``(what run()
    returned, samples)``; both threads are joined before this returns. Where
    the OS does not tell (not Linux) the samples are empty.
    """
    outcome: dict[str, Any] = {}
    samples: list[CoreSample] = []
    done = threading.Event()
    stop = threading.Event()

    def work() -> None:
        try:
            outcome["value"] = run(stop)
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    def watch() -> None:
        _watch_children(samples, every, done)

    threads = [threading.Thread(target=work, name="run-and-watch: run", daemon=True),
               threading.Thread(target=watch, name="run-and-watch: watch", daemon=True)]
    for t in threads:
        t.start()
    deadline = time.perf_counter() + timeout
    run_thread, watch_thread = threads
    try:
        while not done.wait(update_every):
            if time.perf_counter() > deadline:
                raise RunTimeout(f"the run did not finish within {timeout:g} s and was stopped")
            if on_update is not None:
                on_update(list(samples))
    except BaseException:  # a timeout, or Ctrl-C: stop the run, wait for it, pass the error on
        stop.set()
        raise
    finally:
        run_thread.join(STOP_GRACE)
        done.set()
        watch_thread.join(STOP_GRACE)
    if run_thread.is_alive():
        raise RuntimeError(f"the run did not stop within {STOP_GRACE:g} s of being asked to")
    if on_update is not None:
        on_update(list(samples))
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value"), samples


def _watch_children(samples: list[CoreSample], every: float, done: threading.Event) -> None:
    """Append a :class:`CoreSample` per child process every ``every`` s until ``done`` is set."""
    import psutil

    from .launch import is_multiprocessing_helper

    me = psutil.Process()
    my_mask = set(allowed_cores() or [])
    last: dict[int, tuple[float, float]] = {}
    t0 = time.perf_counter()
    while not done.is_set():
        now = time.perf_counter() - t0
        try:
            children = [c for c in me.children() if not is_multiprocessing_helper(c)]
        except psutil.Error:
            children = []
        for child in children:
            try:
                if child.status() == psutil.STATUS_ZOMBIE:  # finished, not yet collected
                    continue
            except psutil.Error:  # already gone
                continue
            # The mask first: once it says "pinned", the core read next is one of the pinned cores.
            pinned = _is_pinned(child.pid, my_mask)
            core, cpu = system.current_cpu(child.pid), system.thread_cpu_seconds(child.pid)
            if core is None or cpu is None:
                continue
            if child.pid in last:
                then, cpu_then = last[child.pid]
                busy = min(1.0, (cpu - cpu_then) / max(now - then, 1e-6))
                samples.append(CoreSample(then, child.pid, core, busy, pinned))
            last[child.pid] = (now, cpu)
        done.wait(every)


def _is_pinned(pid: int, my_mask: set[int]) -> bool:
    """True if process ``pid`` may run on fewer cores than this Python (False where the OS does not say)."""
    if not my_mask or not pinning_supported():
        return False
    try:
        return set(os.sched_getaffinity(pid)) < my_mask
    except OSError:  # already gone
        return False


def draw_core_view(ax, samples: Sequence[CoreSample], every: float = 0.02) -> None:
    """Draw one row per process: which core it was on over time (colour), dark = running, pale = waiting.

    Each sample is drawn up to the next one of the same process (``every`` s for the last).
    """
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    pids = list(dict.fromkeys(s.pid for s in samples))
    cores = set()
    for row, pid in enumerate(pids):
        mine = [s for s in samples if s.pid == pid]
        ends = [s.time for s in mine[1:]] + [mine[-1].time + every]
        for s, end in zip(mine, ends):
            ax.barh(row, end - s.time, left=s.time, height=0.6, lw=0,
                    alpha=0.12 + 0.88 * s.busy, color=CORE_COLORS[s.core % len(CORE_COLORS)])
            cores.add(s.core)
    ax.set_yticks(range(len(pids)), [f"process {i}\n(pid {p})" for i, p in enumerate(pids)],
                  fontsize="small")
    ax.set_ylim(max(len(pids), 1) - 0.5, -0.5)
    ax.set_xlabel("time (s)")
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=CORE_COLORS[c % len(CORE_COLORS)], label=f"on core {c}")
               for c in sorted(cores)]
    if handles:
        handles.append(Patch(color=CORE_COLORS[0], alpha=0.12, label="pale = waiting for a core"))
        ax.legend(handles=handles, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def count_migrations(samples: Sequence[CoreSample], while_pinned: bool = False) -> dict[int, int]:
    """For each process (by pid): how many times it was seen on a different core than just before.

    ``while_pinned=True`` counts only the looks taken after the process had
    pinned itself: under ``spawn`` a worker starts unpinned and may move while
    Python starts up, before it pins itself.
    """
    by_pid: dict[int, list[int]] = {}
    for s in samples:
        if s.pinned or not while_pinned:
            by_pid.setdefault(s.pid, []).append(s.core)
    return {pid: sum(a != b for a, b in zip(cores, cores[1:])) for pid, cores in by_pid.items()}


# --------------------------------------------------------------------------- pinned vs unpinned, measured


@dataclass
class PlacementTimes(Spread):
    """Repeated job times (s) for one way of placing the workers on cores: ``.median``, ``.low``, ``.high``."""

    name: str
    placement: list[list[int] | None]
    times: list[float] = field(default_factory=list)
    last_run: Any = None


def job_time(run) -> float:
    """Seconds from the first worker starting its job to the last one finishing (start-up not counted)."""
    return max(r.end for r in run.records) - min(r.start for r in run.records)


def compare_placements(placements: dict[str, list[list[int] | None]], units: int,
                       repeats: int = 3, timeout: float = 60.0) -> list[PlacementTimes]:
    """Time ``units`` of CPU work per worker under each placement, ``repeats`` times, taking turns.

    ``placements`` maps a name to one entry per worker: a list of cores to
    pin it to, or None to leave it to the OS. Every run starts the workers
    together (a barrier) and times only their jobs. One warm-up run comes
    first and is not recorded. Real processes; each run has a ``timeout``.
    ``last_run`` of each result is the last run, with the cores its workers were seen on.
    """
    from . import launch

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a whole number of 1 or more; got {repeats!r}.")
    if not placements:
        raise ValueError("Give at least one placement to measure.")
    for placement in placements.values():
        for cores in placement:
            if cores is not None:
                check_cores(cores)
        launch.check_worker_count(len(placement))
    results = [PlacementTimes(name, list(p)) for name, p in placements.items()]

    def once(p: PlacementTimes, track_cores: bool):
        return launch.run(pinned_work, [(cores, units) for cores in p.placement], "processes",
                          start_together=True, timeout=timeout, track_cores=track_cores,
                          show_progress=False)

    once(results[0], track_cores=False)  # warm-up
    for repeat in range(repeats):
        for p in results:
            # Only the last repeat watches the cores (for the timelines): the watcher is
            # one more process, and start-up costs add up under spawn.
            p.last_run = once(p, track_cores=repeat == repeats - 1)
            p.times.append(job_time(p.last_run))
    return results


def draw_placements(ax, results: Sequence[PlacementTimes]) -> None:
    """Draw each placement's job times: every repeat as a dot, the median as a bar, the spread as a line."""
    from .plots import COLORS

    for row, p in enumerate(results):
        ax.barh(row, p.median, height=0.5, color=COLORS["processes"], alpha=0.35)
        ax.plot([p.low, p.high], [row, row], color="black", lw=1)
        ax.plot(p.times, [row] * len(p.times), "o", color=COLORS["processes"], ms=5)
        ax.text(p.high, row, f"  median {p.median:.3f} s", va="center", fontsize="small")
    ax.set_yticks(range(len(results)), [p.name for p in results])
    ax.set_ylim(len(results) - 0.5, -0.5)
    ax.set_xlabel("job time of 2 processes (s): dots = repeats, bar = median, line = min-max")
    ax.set_xlim(0, max(p.high for p in results) * 1.45)
    ax.grid(axis="x", alpha=0.3)


def draw_placement_timelines(fig, results: Sequence[PlacementTimes]) -> None:
    """Draw the last run of each placement as a timeline (one row per process), stacked on one time axis.

    Bars are coloured by the core each process was seen on (Linux); the legend
    sits to the right so it never hides a bar.
    """
    from .plots import draw_timeline

    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    for ax, p in zip(axes, results):
        draw_timeline(ax, p.last_run)
        ax.set_title(f"{p.name}: job took {job_time(p.last_run):.2f} s", fontsize="medium")
        ax.set_xlabel("")
        legend = ax.get_legend()
        if legend is not None:
            ax.legend(legend.legend_handles, [t.get_text() for t in legend.get_texts()],
                      fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[-1].set_xlabel("time since the run started (s)")


class LiveCoreView:
    """A figure that redraws while processes run: one row per process, coloured by the core it is on.

    Pass its :meth:`update` as ``on_update`` to :func:`run_and_watch`::

        view = affinity.LiveCoreView()
        display(view)
        run, samples = affinity.run_and_watch(
            lambda stop: launch.run_workload("cpu", 1.0, 3, stop=stop), on_update=view.update)
    """

    def __init__(self, width: float = 8.0, height: float = 2.8):
        from .plots import LiveFigure

        self.samples: list[CoreSample] = []
        self.figure = LiveFigure(self._draw, width=width, height=height)
        self.figure.update()  # an empty chart at once (and matplotlib warmed up before the run)

    def update(self, samples: Sequence[CoreSample]) -> None:
        """Show these samples (called from :func:`run_and_watch`)."""
        self.samples = list(samples)
        self.figure.update()

    def _draw(self, fig) -> None:
        ax = fig.subplots()
        draw_core_view(ax, self.samples)
        ax.set_title("Which core each process is on (live: redrawn while they run)", fontsize="medium")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.figure.image)

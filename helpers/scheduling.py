"""Symmetric vs asymmetric multiprocessing: a simulator, and a real emulation with pinned processes.

Two ways to organise a computer with several processors (Silberschatz et al.,
*Operating System Concepts*):

- **SMP, symmetric multiprocessing** -- every processor is a peer. Each one runs
  the operating system's scheduler itself and takes its next task from a shared
  ready queue (or from its own queue, with load balancing between the queues).
- **AMP, asymmetric multiprocessing** -- one *master* processor runs the
  scheduler and the rest of the OS, and hands fixed work to dedicated *worker*
  processors, which only run what they are given.

This module shows the difference twice:

1. :func:`simulate_smp` / :func:`simulate_amp` -- a **simulator**: pure Python,
   deterministic, no real processes. Cores, speeds and costs are made up, so it
   can show what this machine cannot: fast and slow cores, a slow master, a
   master that fails. :class:`SimulatorPanel` puts widgets on it and
   :func:`draw_gantt` draws one bar per task on its core.
2. :func:`run_emulation` -- a **real** emulation with processes: a master process
   pinned to the first core hands tasks to worker processes pinned to the other
   cores through one queue per worker (AMP-style), or worker processes, one per
   core, take tasks from one shared queue (SMP-style). Every process has a
   timeout and none survives the call.

Time in the simulator is in "seconds" of a made-up machine: a task of work 2.0
takes 2 s on a core of speed 1 and 1 s on a core of speed 2.
"""

from __future__ import annotations

import bisect
import math
import multiprocessing as mp
import os
import queue
import signal
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import affinity, launch, system, workloads

# =========================================================================== the simulator

#: Kinds of simulated task: computing, or answering an I/O request (short, wants a fast reply).
TASK_KINDS = ("cpu", "io")
#: Limits that catch typos before a simulation starts.
MAX_CORES = 64
MAX_TASKS = 10_000


@dataclass(frozen=True)
class Task:
    """One simulated task: ``work`` seconds on a speed-1 core, its kind, and when it arrives."""

    work: float
    kind: str = "cpu"
    arrival: float = 0.0


@dataclass(frozen=True)
class Slice:
    """One bar in the Gantt chart: core ``core`` was doing ``what`` for task ``task`` from start to end.

    ``what`` is "task" (running it), "dispatch" (the AMP master deciding where it goes),
    "pick" (an SMP core taking it from the shared queue) or "lost" (cut off by a failure).
    """

    core: int
    start: float
    end: float
    what: str
    task: int


@dataclass
class Schedule:
    """What a simulated machine did with a list of tasks."""

    design: str
    speeds: list[float]
    roles: list[str]
    tasks: list[Task]
    slices: list[Slice] = field(default_factory=list)
    failure: tuple[int, float] | None = None

    @property
    def finish_times(self) -> dict[int, float]:
        """Task index -> the time it finished (only tasks that finished)."""
        return {s.task: s.end for s in self.slices if s.what == "task"}

    @property
    def completed(self) -> int:
        """How many tasks finished."""
        return len(self.finish_times)

    @property
    def makespan(self) -> float:
        """Time until the last task finished; ``math.inf`` if some task never finished."""
        if self.completed < len(self.tasks):
            return math.inf
        return max(self.finish_times.values(), default=0.0)

    def busy_time(self, core: int) -> float:
        """Seconds ``core`` spent running tasks (not dispatching, not idle)."""
        return sum(s.end - s.start for s in self.slices if s.core == core and s.what == "task")

    def busy_share(self, core: int) -> float:
        """Share of the makespan ``core`` spent running tasks (0 to 1)."""
        end = self.makespan if math.isfinite(self.makespan) else self.horizon
        return self.busy_time(core) / end if end > 0 else 0.0

    @property
    def horizon(self) -> float:
        """The last moment anything happened."""
        return max((s.end for s in self.slices), default=0.0)

    def io_response(self) -> float | None:
        """Mean time from an I/O request's arrival to its answer, or None if there is none."""
        waits = [end - self.tasks[i].arrival for i, end in self.finish_times.items()
                 if self.tasks[i].kind == "io"]
        return statistics.mean(waits) if waits else None

    def core_label(self, core: int) -> str:
        """How a core is named in charts and summaries, e.g. 'core 0 (master, 1x)'."""
        return f"core {core} ({self.roles[core]}, {self.speeds[core]:g}x)"

    def summary(self) -> str:
        """A few lines: makespan, tasks finished, how busy each core was."""
        if math.isfinite(self.makespan):
            head = f"{self.design}: makespan {self.makespan:.2f} s"
        else:
            head = (f"{self.design}: DID NOT FINISH -- {len(self.tasks) - self.completed} of "
                    f"{len(self.tasks)} tasks never ran")
        lines = [head]
        response = self.io_response()
        if response is not None:
            lines.append(f"  mean I/O response time {response:.2f} s")
        for c in range(len(self.speeds)):
            lines.append(f"  {self.core_label(c):<28} busy {self.busy_share(c):4.0%}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- input checks


def _check_number(value: object, name: str, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, not {value!r}.")
    if value < minimum or (strict and value == minimum):
        relation = "above" if strict else "at least"
        raise ValueError(f"{name} must be {relation} {minimum:g}; got {value:g}.")
    return float(value)


def check_speeds(speeds: Sequence[float], minimum_cores: int = 1) -> list[float]:
    """Return the core speeds as floats, or raise a clear error (0 cores, a speed <= 0, too many)."""
    if isinstance(speeds, (str, bytes)) or not isinstance(speeds, Sequence):
        raise TypeError(f"Give one speed per core as a list, e.g. [1, 1, 2]; got {speeds!r}.")
    if len(speeds) < minimum_cores:
        if minimum_cores == 1:
            raise ValueError("A machine needs at least 1 core; the list of core speeds is empty.")
        raise ValueError(
            f"This design needs at least {minimum_cores} cores (a master and at least one "
            f"worker); got {len(speeds)}."
        )
    if len(speeds) > MAX_CORES:
        raise ValueError(f"{len(speeds)} cores is more than the simulator allows ({MAX_CORES}).")
    return [_check_number(s, f"The speed of core {i}", 0.0, strict=True)
            for i, s in enumerate(speeds)]


def check_tasks(tasks: Sequence[Task | float]) -> list[Task]:
    """Return the tasks as :class:`Task` objects (plain numbers become CPU tasks), or raise a clear error."""
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Sequence):
        raise TypeError(f"Give the tasks as a list, e.g. [3, 1, 2]; got {tasks!r}.")
    if not tasks:
        raise ValueError("There are no tasks to schedule; the list is empty.")
    if len(tasks) > MAX_TASKS:
        raise ValueError(f"{len(tasks)} tasks is more than the simulator allows ({MAX_TASKS}).")
    checked = []
    for i, t in enumerate(tasks):
        if not isinstance(t, Task):
            t = Task(_check_number(t, f"The work of task {i}", 0.0, strict=True))
        _check_number(t.work, f"The work of task {i}", 0.0, strict=True)
        _check_number(t.arrival, f"The arrival time of task {i}", 0.0)
        if t.kind not in TASK_KINDS:
            raise ValueError(f"Task {i} has kind {t.kind!r}; use one of {TASK_KINDS}.")
        checked.append(t)
    return checked


def _check_failure(failure: tuple[int, float] | None, n_cores: int) -> list[float]:
    """Return, per core, the time it fails (inf = never)."""
    dies_at = [math.inf] * n_cores
    if failure is None:
        return dies_at
    try:
        core, when = failure
    except (TypeError, ValueError):
        raise TypeError(f"failure must be (core, time), e.g. (0, 1.0); got {failure!r}.") from None
    if isinstance(core, bool) or not isinstance(core, int) or not 0 <= core < n_cores:
        raise ValueError(f"The failing core must be a core number from 0 to {n_cores - 1}; "
                         f"got {core!r}.")
    dies_at[core] = _check_number(when, "The failure time", 0.0)
    return dies_at


# --------------------------------------------------------------------------- the two designs


def simulate_smp(tasks: Sequence[Task | float], speeds: Sequence[float], pick_cost: float = 0.0,
                 failure: tuple[int, float] | None = None) -> Schedule:
    """Simulate SMP: every core is a peer and takes the next task from one shared ready queue.

    The queue is served first come, first served (by arrival time, then list
    order). Whenever a core is free it takes the task at the head of the
    queue -- whichever core is free first gets it (lowest core number on a
    tie), fast or slow. Taking a task costs that core ``pick_cost`` seconds
    (it runs the scheduler itself, in parallel with the other cores).

    ``failure=(core, time)`` stops one core at that time; the task it was
    running goes back to the queue and another core runs it.
    """
    tasks = check_tasks(tasks)
    speeds = check_speeds(speeds)
    pick_cost = _check_number(pick_cost, "pick_cost")
    dies_at = _check_failure(failure, len(speeds))
    schedule = Schedule("SMP", speeds, ["peer"] * len(speeds), tasks, failure=failure)
    free = [0.0] * len(speeds)
    ready = sorted((t.arrival, i) for i, t in enumerate(tasks))
    while ready:
        arrival, i = ready.pop(0)
        options = [(max(free[c], arrival), c) for c in range(len(speeds))
                   if max(free[c], arrival) < dies_at[c]]
        if not options:  # every core has failed: this task never runs
            continue
        start, c = min(options)
        begin = start + pick_cost
        end = begin + tasks[i].work / speeds[c]
        if pick_cost > 0:
            schedule.slices.append(Slice(c, start, min(begin, dies_at[c]), "pick", i))
        if end > dies_at[c]:  # the core fails while running it: back to the queue
            if begin < dies_at[c]:
                schedule.slices.append(Slice(c, begin, dies_at[c], "lost", i))
            free[c] = dies_at[c]
            bisect.insort(ready, (dies_at[c], i))
            continue
        schedule.slices.append(Slice(c, begin, end, "task", i))
        free[c] = end
    return schedule


def simulate_amp(tasks: Sequence[Task | float], speeds: Sequence[float],
                 dispatch_cost: float = 0.0, master: int = 0, io_core: int | None = None,
                 failure: tuple[int, float] | None = None) -> Schedule:
    """Simulate AMP: core ``master`` runs the scheduler and hands each task to a worker core.

    The master handles the tasks one at a time (by arrival, then list order).
    Deciding where a task goes costs it ``dispatch_cost`` seconds -- one
    decision after another, since there is only one master. It knows every
    core's speed and sends each task to the worker that would *finish it
    first*; the task waits in that worker's own queue. The master runs no tasks.

    ``io_core`` (optional) is a worker reserved for "io" tasks: I/O requests go
    only there and computing tasks only to the other workers.

    ``failure=(core, time)`` stops one core at that time. If it is the master,
    nothing more is dispatched: tasks not yet handed out never run.
    """
    tasks = check_tasks(tasks)
    speeds = check_speeds(speeds, minimum_cores=2 if io_core is None else 3)
    dispatch_cost = _check_number(dispatch_cost, "dispatch_cost")
    n = len(speeds)
    if isinstance(master, bool) or not isinstance(master, int) or not 0 <= master < n:
        raise ValueError(f"master must be a core number from 0 to {n - 1}; got {master!r}.")
    if io_core is not None and (isinstance(io_core, bool) or not isinstance(io_core, int)
                                or not 0 <= io_core < n or io_core == master):
        raise ValueError(f"io_core must be a core number from 0 to {n - 1} other than the "
                         f"master ({master}); got {io_core!r}.")
    dies_at = _check_failure(failure, n)
    roles = ["worker"] * n
    roles[master] = "master"
    if io_core is not None:
        roles[io_core] = "I/O worker"
    schedule = Schedule("AMP", speeds, roles, tasks, failure=failure)
    compute_workers = [c for c in range(n) if roles[c] == "worker"]
    free = [0.0] * n
    ready = sorted((t.arrival, i) for i, t in enumerate(tasks))
    while ready:
        arrival, i = ready.pop(0)
        decided = max(free[master], arrival) + dispatch_cost
        if decided > dies_at[master]:  # the master is gone: nobody hands out work any more
            continue
        workers = [io_core] if tasks[i].kind == "io" and io_core is not None else compute_workers
        options = []
        for w in workers:
            start = max(decided, free[w])
            if start < dies_at[w]:
                options.append((start + tasks[i].work / speeds[w], w))
        if not options:
            continue
        end, w = min(options)
        start = max(decided, free[w])
        if dispatch_cost > 0:
            schedule.slices.append(Slice(master, decided - dispatch_cost, decided, "dispatch", i))
        free[master] = decided
        if end > dies_at[w]:  # the worker fails while running it: the master hands it out again
            schedule.slices.append(Slice(w, start, dies_at[w], "lost", i))
            free[w] = dies_at[w]
            bisect.insort(ready, (dies_at[w], i))
            continue
        schedule.slices.append(Slice(w, start, end, "task", i))
        free[w] = end
    return schedule


# --------------------------------------------------------------------------- ready-made inputs

#: Named task lists for the simulator widget (work in seconds on a speed-1 core).
TASK_MIXES: dict[str, list[Task]] = {
    "equal tasks": [Task(1.0)] * 12,
    "one long task last": [Task(1.0)] * 8 + [Task(4.0)],
    "one long task first": [Task(6.0)] + [Task(1.0)] * 6,
    "many short tasks": [Task(0.125)] * 32,
    "computing + I/O requests": [Task(4.0)] * 4
    + [Task(0.125, "io", 0.5 * k) for k in range(1, 9)],
}


def task_mix(name: str) -> list[Task]:
    """One of the named task lists in :data:`TASK_MIXES`."""
    try:
        return list(TASK_MIXES[name])
    except KeyError:
        raise ValueError(f"Unknown task mix {name!r}. Choose one of: "
                         f"{', '.join(TASK_MIXES)}.") from None


def core_speeds(n_cores: int, fast_speed: float = 1.0) -> list[float]:
    """Speeds for ``n_cores`` cores: all 1.0 except the last, which runs at ``fast_speed``.

    ``core_speeds(4, 2.0)`` -> ``[1.0, 1.0, 1.0, 2.0]``: three slow cores and a
    fast one, like a (tiny) phone chip with efficiency and performance cores.
    """
    if isinstance(n_cores, bool) or not isinstance(n_cores, int) or n_cores < 1:
        raise ValueError(f"A machine needs at least 1 core; got {n_cores!r}.")
    return check_speeds([1.0] * (n_cores - 1) + [fast_speed])


# --------------------------------------------------------------------------- pictures

#: Colours by kind of bar (Okabe-Ito): tasks take the colour of their core.
SLICE_STYLE = {"dispatch": "#999999", "pick": "#999999", "lost": "#000000"}


def draw_gantt(ax, schedule: Schedule, horizon: float | None = None) -> None:
    """Draw one row per simulated core and one bar per task (a Gantt chart).

    Task bars take their core's colour (``plots.CORE_COLORS``); I/O tasks are
    hatched; grey is scheduling work (AMP dispatch or SMP pick); black is work
    lost when a core failed. A dashed line marks the makespan.
    """
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    for s in schedule.slices:
        task = schedule.tasks[s.task]
        colour = SLICE_STYLE.get(s.what, CORE_COLORS[s.core % len(CORE_COLORS)])
        ax.barh(s.core, s.end - s.start, left=s.start, height=0.6 if s.what == "task" else 0.3,
                color=colour, edgecolor="white", lw=0.5,
                hatch="//" if task.kind == "io" and s.what == "task" else None)
        if s.what == "task" and s.end - s.start > 0.3:
            ax.text((s.start + s.end) / 2, s.core, str(s.task), ha="center", va="center",
                    fontsize="x-small")
    n = len(schedule.speeds)
    ax.set_yticks(range(n), [schedule.core_label(c) for c in range(n)], fontsize="small")
    ax.set_ylim(n - 0.5, -0.5)
    end = horizon or max(schedule.horizon, 1e-3)
    ax.set_xlim(0, end * 1.02)
    ax.set_xlabel("simulated time (s)")
    if math.isfinite(schedule.makespan):
        ax.axvline(schedule.makespan, ls="--", color="black", lw=1)
        title = f"SIMULATED {schedule.design}: makespan {schedule.makespan:.2f} s"
    else:
        title = (f"SIMULATED {schedule.design}: {len(schedule.tasks) - schedule.completed} "
                 f"task(s) never ran")
    if schedule.failure is not None:
        core, when = schedule.failure
        ax.axvline(when, color="#D55E00", lw=2)
        title += f"  (core {core} fails at {when:g} s)"
    ax.set_title(title, fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color="#999999", label="scheduling (dispatch / pick)")]
    if any(t.kind == "io" for t in schedule.tasks):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="I/O task"))
    if any(s.what == "lost" for s in schedule.slices):
        handles.append(Patch(color="black", label="work lost in the failure"))
    ax.legend(handles=handles, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def draw_comparison(fig, smp: Schedule, amp: Schedule) -> None:
    """Draw the SMP and the AMP schedule one above the other, on the same time axis."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    horizon = max(smp.horizon, amp.horizon, 1e-3)
    draw_gantt(top, smp, horizon)
    draw_gantt(bottom, amp, horizon)
    top.set_xlabel("")


def gantt_figure(*schedules: Schedule, width: float = 8.0):
    """A figure with one Gantt chart per schedule, stacked, on one shared time axis."""
    from .plots import figure

    fig = figure(width, 0.6 + 0.45 * sum(len(s.speeds) + 1 for s in schedules))
    axes = fig.subplots(len(schedules), 1, squeeze=False)[:, 0]
    horizon = max(max(s.horizon for s in schedules), 1e-3)
    for ax, s in zip(axes, schedules):
        draw_gantt(ax, s, horizon)
    return fig


# --------------------------------------------------------------------------- the widget


class SimulatorPanel:
    """Widgets that run the SMP and the AMP simulation side by side (a SIMULATOR, not real cores).

    Display it in a notebook cell; every change of a control re-runs both
    simulations. :meth:`update` runs them with the current settings (also
    callable from code, so tests need no clicks); ``.smp`` and ``.amp`` hold the
    last :class:`Schedule` of each.
    """

    def __init__(self, cores: int = 4, fast_speed: float = 2.0, cost: float = 0.125,
                 mix: str = "one long task first"):
        import ipywidgets as widgets

        from .plots import LiveFigure

        task_mix(mix)  # a clear error for an unknown name
        style = {"description_width": "initial"}
        self.cores = widgets.IntSlider(value=cores, min=3, max=8, description="cores", style=style)
        self.fast_speed = widgets.FloatSlider(value=fast_speed, min=1.0, max=4.0, step=0.5,
                                              description="speed of the last core (x)",
                                              style=style)
        self.cost = widgets.FloatSlider(value=cost, min=0.0, max=0.5, step=0.025,
                                        description="scheduling cost per task (s)", style=style,
                                        readout_format=".3f")
        self.mix = widgets.Dropdown(options=list(TASK_MIXES), value=mix, description="tasks",
                                    style=style)
        self.io_core = widgets.Checkbox(value=False, description="AMP: reserve core 1 for I/O")
        self.fail = widgets.Checkbox(value=False, description="core 0 fails at t = 1 s")
        self.text = widgets.HTML()
        self.figure = LiveFigure(self._draw, width=8.0, height=5.5)
        self.smp: Schedule | None = None
        self.amp: Schedule | None = None
        controls = [self.cores, self.fast_speed, self.cost, self.mix, self.io_core, self.fail]
        for control in controls:
            control.observe(lambda _change: self.update(), names="value")
        self.box = widgets.VBox([
            widgets.HTML("<b>SIMULATOR</b> -- made-up cores, not this machine. "
                         "Core 0 is the AMP master; in SMP it is a peer like the others."),
            widgets.HBox([widgets.VBox(controls[:3]), widgets.VBox(controls[3:])]),
            self.text, self.figure.image,
        ])

    def settings(self) -> dict:
        """The current settings as plain values."""
        return {"cores": self.cores.value, "fast_speed": self.fast_speed.value,
                "cost": self.cost.value, "mix": self.mix.value,
                "io_core": self.io_core.value, "fail": self.fail.value}

    def update(self) -> str:
        """Run both simulations with the current settings, redraw, and return the summary text."""
        s = self.settings()
        speeds = core_speeds(s["cores"], s["fast_speed"])
        tasks = task_mix(s["mix"])
        failure = (0, 1.0) if s["fail"] else None
        self.smp = simulate_smp(tasks, speeds, pick_cost=s["cost"], failure=failure)
        self.amp = simulate_amp(tasks, speeds, dispatch_cost=s["cost"],
                                io_core=1 if s["io_core"] else None, failure=failure)
        summary = compare(self.smp, self.amp)
        self.text.value = "<pre>" + summary + "</pre>"
        self.figure.update()
        return summary

    def _draw(self, fig) -> None:
        if self.smp is not None and self.amp is not None:
            draw_comparison(fig, self.smp, self.amp)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


def compare(smp: Schedule, amp: Schedule) -> str:
    """Two lines comparing the designs' makespans (and I/O response times, if any)."""
    def line(s: Schedule) -> str:
        if math.isfinite(s.makespan):
            text = f"{s.design}: makespan {s.makespan:6.2f} s"
        else:
            text = f"{s.design}: {len(s.tasks) - s.completed} of {len(s.tasks)} tasks never ran"
        response = s.io_response()
        if response is not None:
            io = [i for i, t in enumerate(s.tasks) if t.kind == "io"]
            answered = sum(i in s.finish_times for i in io)
            if answered == len(io):
                text += f", mean I/O response {response:.2f} s"
            else:
                text += (f"; {answered} of {len(io)} I/O requests answered, after "
                         f"{response:.2f} s on average")
        return text

    return line(smp) + "\n" + line(amp)


# =========================================================================== the real emulation

#: The designs the emulation can run.
DESIGNS = ("SMP", "AMP")
#: Most tasks one emulation run may have.
MAX_EMULATED_TASKS = 1000


@dataclass(frozen=True)
class TaskRun:
    """One task of a real emulation: which worker ran it, on which core, when (s since the start)."""

    worker: int
    task: int
    core: int | None
    start: float
    end: float


@dataclass
class EmulationResult:
    """The outcome of one real run of :func:`run_emulation`."""

    design: str
    start_method: str
    pinned: bool
    master_cores: list[int] | None
    worker_cores: list[list[int] | None]
    makespan: float
    runs: list[TaskRun]
    dispatches: list[tuple[float, float]]
    note: str

    @property
    def n_workers(self) -> int:
        """How many worker processes computed (the AMP master not counted)."""
        return len(self.worker_cores)

    def tasks_per_worker(self) -> list[int]:
        """How many tasks each worker ran."""
        counts = [0] * self.n_workers
        for r in self.runs:
            counts[r.worker] += 1
        return counts

    def __str__(self) -> str:
        where = ", ".join(f"worker {i} on {c if c is not None else 'any core'}"
                          for i, c in enumerate(self.worker_cores))
        master = "" if self.design == "SMP" else (
            f"master on {self.master_cores if self.master_cores else 'any core'}, ")
        return (f"{self.design} ({'pinned' if self.pinned else 'NOT pinned'}): makespan "
                f"{self.makespan:.3f} s; {master}{where}; tasks per worker "
                f"{self.tasks_per_worker()}")


def _quiet_child() -> None:
    """Workers ignore Ctrl-C / Interrupt kernel: the parent stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pin_quietly(cores: list[int] | None) -> None:
    if cores is not None and affinity.pinning_supported():
        os.sched_setaffinity(0, cores)


def emulated_worker(index: int, cores: list[int] | None, inbox, outbox, barrier,
                    timeout: float) -> None:
    """A worker process: pin itself, then run tasks from ``inbox`` until it receives None.

    For SMP ``inbox`` is the queue every worker shares; for AMP it is this
    worker's own queue, filled by the master. Each finished task is reported on
    ``outbox`` as ("done", worker, task, core, start, end). Gives up after
    ``timeout`` seconds without work, so it can never wait forever.
    """
    _quiet_child()
    _pin_quietly(cores)
    barrier.wait(timeout)
    released = time.perf_counter()
    while True:
        item = inbox.get(timeout=timeout)
        if item is None:
            break
        task, units = item
        start = time.perf_counter()
        workloads.cpu_work(units)
        end = time.perf_counter()
        outbox.put(("done", index, task, system.current_cpu(os.getpid()), start, end))
    outbox.put(("bye", index, released))


def emulated_master(cores: list[int] | None, task_units: list[int], inboxes: list, outbox,
                    barrier, decision_units: int, timeout: float) -> None:
    """The AMP master process: pin itself, then hand every task to a worker's own queue.

    It sends each task to the worker with the least work given so far (the
    one that will be free first, as all workers are equally fast), spending
    ``decision_units`` of CPU work on each decision, then tells every worker to stop.
    """
    _quiet_child()
    _pin_quietly(cores)
    barrier.wait(timeout)
    released = time.perf_counter()
    load = [0] * len(inboxes)
    dispatches = []
    for task, units in enumerate(task_units):
        t0 = time.perf_counter()
        if decision_units:
            workloads.cpu_work(decision_units)
        worker = min(range(len(inboxes)), key=lambda w: (load[w], w))
        load[worker] += units
        inboxes[worker].put((task, units))
        dispatches.append((t0, time.perf_counter()))
    for inbox in inboxes:
        inbox.put(None)
    outbox.put(("master", dispatches, released))


def plan_cores(design: str, n_workers: int | None = None,
               pin: bool = True) -> tuple[list[int] | None, list[list[int] | None], str]:
    """Decide which cores the master (AMP) and each worker get: (master cores, worker cores, note).

    SMP: one worker per allowed core. AMP: the master on the first allowed core,
    the workers on the others. Where pinning is impossible (macOS, Windows) or
    only one core is allowed, the note says what happens instead.
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be 'SMP' or 'AMP', not {design!r}.")
    allowed = affinity.allowed_cores() or list(range(system.logical_cpus()))
    if n_workers is None:
        n_workers = len(allowed) if design == "SMP" else max(1, len(allowed) - 1)
    launch.check_worker_count(n_workers)
    if not pin:
        return None, [None] * n_workers, "not pinned: the OS scheduler places every process"
    if not affinity.pinning_supported():
        return None, [None] * n_workers, "not pinned: " + affinity.unsupported_reason()
    if design == "SMP":
        return None, [[allowed[i % len(allowed)]] for i in range(n_workers)], ""
    master = [allowed[0]]
    rest = allowed[1:] or allowed
    note = ""
    if len(allowed) == 1:
        note = (f"only core {allowed[0]} is allowed here, so the master and the workers share "
                f"it: a dedicated master core is impossible on 1 CPU")
    return master, [[rest[i % len(rest)]] for i in range(n_workers)], note


def check_task_units(task_units: Sequence[int]) -> list[int]:
    """Return the task sizes (units of CPU work) as a list, or raise a clear error."""
    if isinstance(task_units, (str, bytes)) or not isinstance(task_units, Sequence):
        raise TypeError(f"Give the tasks as a list of work units, e.g. [50, 50, 100]; "
                        f"got {task_units!r}.")
    if not task_units:
        raise ValueError("There are no tasks to run; the list is empty.")
    if len(task_units) > MAX_EMULATED_TASKS:
        raise ValueError(f"{len(task_units)} tasks is more than one run allows "
                         f"({MAX_EMULATED_TASKS}).")
    for i, u in enumerate(task_units):
        if isinstance(u, bool) or not isinstance(u, int) or u < 1:
            raise ValueError(f"Task {i} has {u!r} units of work; use a whole number of 1 or more.")
    return list(task_units)


def run_emulation(design: str, task_units: Sequence[int], n_workers: int | None = None, *,
                  pin: bool = True, decision_units: int = 0,
                  timeout: float = launch.DEFAULT_TIMEOUT,
                  start_method: str | None = None) -> EmulationResult:
    """Run real processes, organised as SMP or AMP, on tasks of ``task_units`` CPU work each.

    SMP: ``n_workers`` processes (default: one per allowed core), each pinned
    to its own core, take tasks from one shared queue. AMP: a master process
    pinned to the first core hands each task to one of ``n_workers`` processes
    (default: one per other core) through that worker's own queue.

    The makespan runs from the moment every process is ready (they wait at a
    barrier, so start-up costs do not count) to the end of the last task.
    Raises :class:`helpers.launch.RunTimeout` after ``timeout`` seconds and
    :class:`helpers.launch.WorkerCrashed` if a process dies; no process
    survives this call in any case.
    """
    task_units = check_task_units(task_units)
    master_cores, worker_cores, note = plan_cores(design, n_workers, pin)
    if isinstance(decision_units, bool) or not isinstance(decision_units, int) \
            or decision_units < 0:
        raise ValueError(f"decision_units must be a whole number >= 0; got {decision_units!r}.")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}.")
    method = start_method or system.course_start_method()
    if method not in system.start_methods():
        raise ValueError(f"Start method {method!r} does not exist here; this platform offers "
                         f"{', '.join(system.start_methods())}.")
    ctx = mp.get_context(method)
    n = len(worker_cores)
    outbox = ctx.Queue()
    if design == "SMP":
        shared = ctx.Queue()
        inboxes = [shared] * n
    else:
        inboxes = [ctx.Queue() for _ in range(n)]
    # The children wait for each other here, so no one starts before all are ready.
    barrier = ctx.Barrier(n + (1 if design == "AMP" else 0))
    procs = [ctx.Process(target=emulated_worker, name=f"{design}-worker-{i}", daemon=True,
                         args=(i, worker_cores[i], inboxes[i], outbox, barrier, timeout))
             for i in range(n)]
    if design == "AMP":
        procs.append(ctx.Process(target=emulated_master, name="AMP-master", daemon=True,
                                 args=(master_cores, task_units, inboxes, outbox, barrier,
                                       decision_units, timeout)))
    queues = list({id(q): q for q in [outbox, *inboxes]}.values())
    try:
        for p in procs:
            p.start()
        if design == "SMP":  # filled after the starts: a fork never copies a busy queue thread
            for item in enumerate(task_units):
                shared.put(item)
            for _ in range(n):
                shared.put(None)
        deadline = time.perf_counter() + timeout
        released, runs, dispatches = [], [], []
        expected = len(task_units) + n + (1 if design == "AMP" else 0)
        for _ in range(expected):
            message = _next_message(outbox, procs, deadline, timeout)
            if message[0] == "done":
                runs.append(message[1:])
            elif message[0] == "master":
                dispatches = message[1]
                released.append(message[2])
            else:  # "bye"
                released.append(message[2])
        for p in procs:
            p.join(max(0.1, deadline - time.perf_counter()))
    finally:
        launch.stop_processes(procs)
        for q in queues:
            q.cancel_join_thread()  # never block on data nobody will read
            q.close()
    t0 = min(released)
    task_runs = sorted((TaskRun(w, t, core, s - t0, e - t0) for w, t, core, s, e in runs),
                       key=lambda r: (r.start, r.worker))
    return EmulationResult(
        design=design, start_method=method, pinned=worker_cores[0] is not None,
        master_cores=master_cores, worker_cores=worker_cores,
        makespan=max(r.end for r in task_runs), runs=task_runs,
        dispatches=[(a - t0, b - t0) for a, b in dispatches], note=note,
    )


def _next_message(outbox, procs, deadline: float, timeout: float):
    """The next report from a child, or a clear error if time runs out or a child died."""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise launch.RunTimeout(f"the emulation did not finish within {timeout:g} s; "
                                    f"every process was stopped")
        try:
            return outbox.get(timeout=min(left, 0.1))
        except queue.Empty:
            pass
        for i, p in enumerate(procs):
            if p.exitcode not in (None, 0):
                raise launch.WorkerCrashed(
                    f"process {p.name} (pid {p.pid}) ended with exit code {p.exitcode} before "
                    f"finishing; the others were stopped", i)


def measure_designs(task_units: Sequence[int], repeats: int = 3, warmup: bool = True,
                    **options) -> dict[str, list[EmulationResult]]:
    """Run SMP and AMP ``repeats`` times each, taking turns, after one unrecorded warm-up run.

    Taking turns (SMP, AMP, SMP, AMP, ...) spreads the machine's noise fairly
    over both designs. Options as for :func:`run_emulation`.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a whole number of 1 or more; got {repeats!r}.")
    results: dict[str, list[EmulationResult]] = {d: [] for d in DESIGNS}
    if warmup:
        run_emulation(DESIGNS[0], task_units, **options)
    for _ in range(repeats):
        for design in DESIGNS:
            results[design].append(run_emulation(design, task_units, **options))
    return results


def draw_emulation(ax, result: EmulationResult, horizon: float | None = None) -> None:
    """Draw a real emulation run: one row per worker (plus the AMP master), bars coloured by core."""
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    offset = 1 if result.design == "AMP" else 0
    labels = []
    if result.design == "AMP":
        for a, b in result.dispatches:
            ax.barh(0, max(b - a, _min_width(horizon, result)), left=a, height=0.3,
                    color="#999999")
        labels.append(f"master ({_where(result.master_cores)})")
    cores = set()
    for r in result.runs:
        colour = CORE_COLORS[r.core % len(CORE_COLORS)] if r.core is not None else "#D55E00"
        ax.barh(r.worker + offset, r.end - r.start, left=r.start, height=0.6, color=colour,
                edgecolor="white", lw=0.5)
        if r.core is not None:
            cores.add(r.core)
    labels += [f"worker {i} ({_where(c)})" for i, c in enumerate(result.worker_cores)]
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(0, (horizon or result.makespan) * 1.02)
    ax.set_xlabel("time since all processes were ready (s)")
    ax.axvline(result.makespan, ls="--", color="black", lw=1)
    ax.set_title(f"REAL {result.design} ({'pinned' if result.pinned else 'not pinned'}): "
                 f"makespan {result.makespan:.2f} s", fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=CORE_COLORS[c % len(CORE_COLORS)], label=f"ran on core {c}")
               for c in sorted(cores)]
    if result.design == "AMP":
        handles.append(Patch(color="#999999", label="master hands out a task"))
    ax.legend(handles=handles, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _min_width(horizon: float | None, result: EmulationResult) -> float:
    """A minimum visible bar width: 0.4% of the time axis."""
    return 0.004 * (horizon or result.makespan)


def _where(cores: list[int] | None) -> str:
    if cores is None:
        return "any core"
    return "core " + ",".join(map(str, cores))


def draw_makespans(ax, measured: dict[str, list[EmulationResult]]) -> None:
    """Draw the measured makespans of each design: every repeat a dot, the median a bar, min-max a line."""
    from .plots import COLORS

    for row, results in enumerate(measured.values()):
        times = [r.makespan for r in results]
        middle = statistics.median(times)
        ax.barh(row, middle, height=0.5, color=COLORS["processes"], alpha=0.35)
        ax.plot([min(times), max(times)], [row, row], color="black", lw=1)
        ax.plot(times, [row] * len(times), "o", color=COLORS["processes"], ms=5)
        ax.text(max(times), row, f"  median {middle:.3f} s", va="center", fontsize="small")
    ax.set_yticks(range(len(measured)), [f"{d} (real processes)" for d in measured])
    ax.set_ylim(len(measured) - 0.5, -0.5)
    ax.set_xlim(0, max(r.makespan for rs in measured.values() for r in rs) * 1.45)
    ax.set_xlabel("makespan (s): dots = repeats, bar = median, line = min-max")
    ax.grid(axis="x", alpha=0.3)


# =========================================================================== exercise and quiz

#: The task list of the lesson's exercise (seconds on a speed-1 core).
EXERCISE_TASKS = [3.0, 1.0, 2.0, 2.0, 4.0]
EXERCISE_DISPATCH_COST = 0.25


def check_makespans(smp_makespan: object, amp_makespan: object) -> None:
    """Check the exercise's two hand-computed makespans against the simulator; print the verdicts."""
    from . import exercises

    smp = simulate_smp(EXERCISE_TASKS, [1.0, 1.0])
    amp = simulate_amp(EXERCISE_TASKS, [1.0, 1.0], dispatch_cost=EXERCISE_DISPATCH_COST)
    exercises.check_number(
        smp_makespan, smp.makespan, tolerance=1e-6,
        hint="Write down when each core becomes free. At t = 0 core 0 takes the 3 s task and "
             "core 1 the 1 s task; each time a core is free it takes the next task in the list.",
        praise=f"SMP makespan {smp.makespan:g} s: both cores computed, but the 4 s task came last.")
    exercises.check_number(
        amp_makespan, amp.makespan, tolerance=1e-6,
        hint="Only core 1 computes, so it runs all the work one task after another. The first "
             "task has to wait for its dispatch; the later dispatches happen while core 1 is busy.",
        praise=f"AMP makespan {amp.makespan:g} s: the master's core never computes, so one core "
               f"does {sum(EXERCISE_TASKS):g} s of work alone.")


def quiz_questions():
    """The lesson's self-check questions."""
    from .exercises import Question

    return [
        Question("What makes a multiprocessor system symmetric (SMP) rather than asymmetric (AMP)?",
                 ["It has more than one processor.",
                  "Every processor runs the OS scheduler itself and can run any task.",
                  "All its processors run at the same speed.",
                  "Its processes share memory."], 1,
                 "SMP is about roles: every processor is a peer that schedules itself. Having "
                 "several processors is true of both designs; equal speeds is a hardware detail."),
        Question("Two CPU-bound processes are both pinned to the same core. Compared with letting "
                 "the OS place them on two free cores, their job takes ...",
                 ["about the same time", "about twice as long",
                  "about half as long", "forever: pinning two processes to one core deadlocks"], 1,
                 "They take turns on one core, so each gets about half of it."),
        Question("The master core of an AMP system fails. What happens?",
                 ["Another core takes over at once.",
                  "Work already handed out can finish, but nothing new is scheduled.",
                  "Nothing changes: the workers schedule themselves.",
                  "Only I/O stops."], 1,
                 "The master is a single point of failure: only it decides what runs next."),
        Question("When can an AMP design finish first?",
                 ["With equal cores and many tiny tasks.",
                  "When cores differ and the master sends long tasks to the fast core, or when a "
                  "dedicated core must answer I/O quickly.",
                  "On a machine with one CPU.",
                  "Never."], 1,
                 "A master that knows the cores can place work well, and a reserved core answers "
                 "at once; with equal cores and tiny tasks the master is a bottleneck instead."),
        Question("A laptop chip has performance and efficiency cores (Apple M-series, Intel hybrid). "
                 "Its operating system is ...",
                 ["AMP: the performance cores are masters.",
                  "SMP on asymmetric hardware: every core runs the same kernel scheduler, which "
                  "has to know which cores are fast.",
                  "Neither: such chips run one program at a time.",
                  "AMP: the efficiency cores only do I/O."], 1,
                 "The hardware is asymmetric, the OS is symmetric: one kernel, every core schedules "
                 "itself, with hints about which cores are fast or frugal."),
    ]

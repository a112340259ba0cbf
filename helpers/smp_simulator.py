"""A SIMULATOR of symmetric (SMP) and asymmetric (AMP) multiprocessing -- no real processes.

Pure Python arithmetic, deterministic: the cores, their speeds and the costs are
made up, so it can show what a real machine cannot (fast and slow cores, a
master that is too slow to keep up). The real processes of lesson 02 are in the
notebook's cells; this module is only a model.

The model, small enough to compute by hand:

- a task has an amount of *work*: 2.0 takes 2 s on a speed-1 core, 1 s on a speed-2 core;
  no task is interrupted once started;
- **SMP** (:func:`simulate_smp`): whenever a core is free it takes the task at the head
  of one shared queue (lowest core number on a tie), fast core or slow. Taking a task
  costs *that core* ``pick_cost`` -- every core schedules itself, all at the same time;
- **AMP** (:func:`simulate_amp`): core 0 is the master and runs no task. It decides
  where each task goes, one after another, paying ``dispatch_cost`` per task, and sends
  it to the worker that would finish it first (it knows the speeds).

::

    from helpers import smp_simulator as sim
    smp = sim.simulate_smp([3, 1, 2, 2, 4], [1, 1])
    print(smp.makespan)                      # 7.0
    picture(sim.gantt_figure(smp))           # one row per core, one bar per task
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .validation import validate_choice, validate_int

__all__ = ["Task", "Slice", "Schedule", "simulate_smp", "simulate_amp", "TASK_MIXES", "task_mix",
           "core_speeds", "compare", "draw_gantt", "gantt_figure", "SimulatorPanel"]

#: Limits that catch typos before a simulation starts.
MAX_CORES = 64
MAX_TASKS = 10_000
MAX_SPEED = 100.0


@dataclass(frozen=True)
class Task:
    """One simulated task: ``work`` seconds on a speed-1 core."""

    work: float


@dataclass(frozen=True)
class Slice:
    """One bar of the Gantt chart: ``core`` did ``what`` ("task" or "schedule") for ``task``."""

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

    @property
    def makespan(self) -> float:
        """Time until the last task finished."""
        return max((s.end for s in self.slices if s.what == "task"), default=0.0)

    @property
    def horizon(self) -> float:
        """The last moment anything happened."""
        return max((s.end for s in self.slices), default=0.0)

    def busy_share(self, core: int) -> float:
        """Share of the makespan ``core`` spent running tasks (0 to 1)."""
        busy = sum(s.end - s.start for s in self.slices if s.core == core and s.what == "task")
        return busy / self.makespan if self.makespan > 0 else 0.0

    def core_label(self, core: int) -> str:
        """How a core is named in charts, e.g. 'core 0 (master, 1x)'."""
        return f"core {core} ({self.roles[core]}, {self.speeds[core]:g}x)"

    def __str__(self) -> str:
        lines = [f"{self.design}: makespan {self.makespan:.2f} s"]
        lines += [f"  {self.core_label(c):<22} busy {self.busy_share(c):4.0%}"
                  for c in range(len(self.speeds))]
        return "\n".join(lines)


# --------------------------------------------------------------------------- input checks


def _number(value: object, name: str, strict: bool = False, low: float = 0.0,
            high: float = 1e6) -> float:
    """A finite number from ``low`` (excluded if ``strict``) to ``high``, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number, not {value!r}.")
    if value < low or (strict and value == low):
        raise ValueError(f"{name} must be {'above' if strict else 'at least'} {low:g}; "
                         f"got {value:g}.")
    if value > high:
        raise ValueError(f"{name} must be at most {high:g}; got {value:g}.")
    return float(value)


def check_speeds(speeds: Sequence[float], minimum_cores: int = 1) -> list[float]:
    """The core speeds as floats, or a clear error (no cores, a speed <= 0, too many)."""
    if isinstance(speeds, (str, bytes)) or not isinstance(speeds, Sequence):
        raise TypeError(f"Give one speed per core as a list, e.g. [1, 1, 2]; got {speeds!r}.")
    if len(speeds) < minimum_cores:
        if minimum_cores == 1:
            raise ValueError("A machine needs at least 1 core; the list of core speeds is empty.")
        raise ValueError(f"AMP needs at least {minimum_cores} cores (a master and at least one "
                         f"worker); got {len(speeds)}.")
    if len(speeds) > MAX_CORES:
        raise ValueError(f"{len(speeds)} cores is more than the simulator allows ({MAX_CORES}).")
    return [_number(s, f"The speed of core {i}", strict=True, high=MAX_SPEED)
            for i, s in enumerate(speeds)]


def check_tasks(tasks: Sequence[Task | float]) -> list[Task]:
    """The tasks as :class:`Task` objects (plain numbers become tasks), or a clear error."""
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Sequence):
        raise TypeError(f"Give the tasks as a list, e.g. [3, 1, 2]; got {tasks!r}.")
    if not tasks:
        raise ValueError("There are no tasks to schedule; the list is empty.")
    if len(tasks) > MAX_TASKS:
        raise ValueError(f"{len(tasks)} tasks is more than the simulator allows ({MAX_TASKS}).")
    work = [t.work if isinstance(t, Task) else t for t in tasks]
    return [Task(_number(x, f"The work of task {i}", strict=True)) for i, x in enumerate(work)]


# --------------------------------------------------------------------------- the two designs


def simulate_smp(tasks: Sequence[Task | float], speeds: Sequence[float],
                 pick_cost: float = 0.0) -> Schedule:
    """SMP: every core is a peer and takes the next task from one shared queue, in list order.

    Whichever core is free first takes the head of the queue (lowest core number
    on a tie), fast or slow. Taking a task costs that core ``pick_cost`` seconds,
    in parallel with the other cores.
    """
    tasks, speeds = check_tasks(tasks), check_speeds(speeds)
    pick_cost = _number(pick_cost, "pick_cost")
    schedule = Schedule("SMP", speeds, ["peer"] * len(speeds), tasks)
    free = [0.0] * len(speeds)
    for i, task in enumerate(tasks):
        start, c = min((free[c], c) for c in range(len(speeds)))
        begin = start + pick_cost
        if pick_cost > 0:
            schedule.slices.append(Slice(c, start, begin, "schedule", i))
        free[c] = begin + task.work / speeds[c]
        schedule.slices.append(Slice(c, begin, free[c], "task", i))
    return schedule


def simulate_amp(tasks: Sequence[Task | float], speeds: Sequence[float],
                 dispatch_cost: float = 0.0) -> Schedule:
    """AMP: core 0 is the master; it places each task, one after another, and runs none.

    Each decision costs the master ``dispatch_cost`` seconds. It sends the task
    to the worker that would *finish it first* (it knows every speed); the task
    waits in that worker's own queue.
    """
    tasks, speeds = check_tasks(tasks), check_speeds(speeds, minimum_cores=2)
    dispatch_cost = _number(dispatch_cost, "dispatch_cost")
    roles = ["master"] + ["worker"] * (len(speeds) - 1)
    schedule = Schedule("AMP", speeds, roles, tasks)
    free = [0.0] * len(speeds)
    for i, task in enumerate(tasks):
        decided = free[0] + dispatch_cost
        if dispatch_cost > 0:
            schedule.slices.append(Slice(0, free[0], decided, "schedule", i))
        free[0] = decided
        end, w = min((max(decided, free[w]) + task.work / speeds[w], w)
                     for w in range(1, len(speeds)))
        schedule.slices.append(Slice(w, end - task.work / speeds[w], end, "task", i))
        free[w] = end
    return schedule


# --------------------------------------------------------------------------- ready-made inputs

#: Named task lists (work in seconds on a speed-1 core).
TASK_MIXES: dict[str, list[float]] = {
    "one long task first": [6.0] + [1.0] * 6,
    "one long task last": [1.0] * 8 + [4.0],
    "many short tasks": [0.125] * 32,
    "equal tasks": [1.0] * 12,
}


def task_mix(name: str) -> list[Task]:
    """One of the named task lists in :data:`TASK_MIXES`, as tasks."""
    return check_tasks(TASK_MIXES[validate_choice(name, "name (the task mix)", list(TASK_MIXES))])


def core_speeds(n_cores: int, fast_speed: float = 1.0) -> list[float]:
    """``n_cores`` speeds, all 1.0 except the last: ``core_speeds(4, 2.0)`` -> [1, 1, 1, 2]."""
    validate_int(n_cores, "n_cores", low=1, high=MAX_CORES)
    fast_speed = _number(fast_speed, "fast_speed", strict=True, high=MAX_SPEED)
    return check_speeds([1.0] * (n_cores - 1) + [fast_speed])


def compare(*schedules: Schedule) -> str:
    """One line per schedule: its design and makespan."""
    return "\n".join(f"{s.design}: makespan {s.makespan:6.2f} s" for s in schedules)


# --------------------------------------------------------------------------- pictures


def draw_gantt(ax, schedule: Schedule, horizon: float | None = None, title: str = "") -> None:
    """One row per simulated core, one bar per task (numbered); grey is scheduling work."""
    from matplotlib.patches import Patch

    from .plots import CORE_COLORS

    for s in schedule.slices:
        task = s.what == "task"
        ax.barh(s.core, s.end - s.start, left=s.start, height=0.6 if task else 0.3,
                color=CORE_COLORS[s.core % len(CORE_COLORS)] if task else "#999999",
                edgecolor="white", lw=0.5)
        if task and s.end - s.start > 0.3:
            ax.text((s.start + s.end) / 2, s.core, str(s.task), ha="center", va="center",
                    fontsize="x-small")
    n = len(schedule.speeds)
    ax.set_yticks(range(n), [schedule.core_label(c) for c in range(n)], fontsize="small")
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, (horizon or max(schedule.horizon, 1e-3)) * 1.02)
    ax.set_xlabel("simulated time (s)")
    ax.axvline(schedule.makespan, ls="--", color="black", lw=1)
    ax.set_title(title or f"SIMULATED {schedule.design}: makespan {schedule.makespan:.2f} s",
                 fontsize="medium")
    ax.grid(axis="x", alpha=0.3)
    if any(s.what == "schedule" for s in schedule.slices):
        ax.legend(handles=[Patch(color="#999999", label="scheduling work")], fontsize="x-small",
                  loc="upper left", bbox_to_anchor=(1.0, 1.0))


def gantt_figure(*schedules: Schedule, titles: Sequence[str] = (), width: float = 8.0):
    """A figure with one Gantt chart per schedule, stacked on one shared time axis."""
    from .plots import figure

    fig = figure(width, 0.6 + 0.45 * sum(len(s.speeds) + 1 for s in schedules))
    axes = fig.subplots(len(schedules), 1, squeeze=False)[:, 0]
    horizon = max(max(s.horizon for s in schedules), 1e-3)
    titles = list(titles) + [""] * len(schedules)
    for ax, s, title in zip(axes, schedules, titles):
        draw_gantt(ax, s, horizon, title)
    return fig


# --------------------------------------------------------------------------- the widget


class SimulatorPanel:
    """Sliders on the simulator (made-up cores, not this machine): SMP and AMP side by side.

    Every change of a control re-runs both simulations; :meth:`update` does the
    same from code and returns the summary.
    """

    def __init__(self, cores: int = 4, fast_speed: float = 2.0, cost: float = 0.0,
                 mix: str = "one long task first"):
        import ipywidgets as widgets

        from .plots import LiveFigure

        # Clear errors before any widget exists (a slider would silently clamp a bad value).
        task_mix(mix)
        validate_int(cores, "cores", low=2, high=8)
        _number(fast_speed, "fast_speed", low=1.0, high=4.0)
        _number(cost, "cost", high=0.5)
        style = {"description_width": "initial"}
        self.cores = widgets.IntSlider(value=cores, min=2, max=8, description="cores", style=style)
        self.fast_speed = widgets.FloatSlider(value=fast_speed, min=1.0, max=4.0, step=0.5,
                                              description="speed of the last core (x)", style=style)
        self.cost = widgets.FloatSlider(value=cost, min=0.0, max=0.5, step=0.025, style=style,
                                        description="scheduling cost per task (s)",
                                        readout_format=".3f")
        self.mix = widgets.Dropdown(options=list(TASK_MIXES), value=mix, description="tasks",
                                    style=style)
        self.text = widgets.HTML()
        self.figure = LiveFigure(self._draw, width=8.0, height=5.0)
        self.smp: Schedule | None = None
        self.amp: Schedule | None = None
        for control in (self.cores, self.fast_speed, self.cost, self.mix):
            control.observe(lambda _change: self.update(), names="value")
        self.box = widgets.VBox([
            widgets.HTML("<b>SIMULATOR</b> -- made-up cores, not this machine. Core 0 is the "
                         "AMP master; in SMP it is a peer like the others."),
            widgets.HBox([widgets.VBox([self.cores, self.fast_speed]),
                          widgets.VBox([self.cost, self.mix])]),
            self.text, self.figure.image])
        self.update()

    def update(self) -> str:
        """Run both simulations with the current settings, redraw, return the summary."""
        speeds = core_speeds(self.cores.value, self.fast_speed.value)
        tasks = task_mix(self.mix.value)
        self.smp = simulate_smp(tasks, speeds, pick_cost=self.cost.value)
        self.amp = simulate_amp(tasks, speeds, dispatch_cost=self.cost.value)
        summary = compare(self.smp, self.amp)
        self.text.value = "<pre>" + summary + "</pre>"
        self.figure.update()
        return summary

    def _draw(self, fig) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True)
        horizon = max(self.smp.horizon, self.amp.horizon, 1e-3)
        draw_gantt(top, self.smp, horizon)
        draw_gantt(bottom, self.amp, horizon)
        top.set_xlabel("")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)

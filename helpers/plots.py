"""Pictures of parallel runs: speedup curves, per-worker timelines, and live figures.

Colours come from the Okabe-Ito palette, which stays readable with the common
kinds of colour blindness. Threads are always blue and processes always
orange-red, in every lesson.

Each ``draw_*`` function draws onto a matplotlib ``Axes`` you give it, so you
can combine them. :class:`LiveFigure` redraws a figure into an image widget
while a measurement runs -- that is how the live speedup curve grows point by
point. Importing this module does not change any matplotlib setting.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .launch import RunResult
from .measure import Sweep, amdahl_speedup

#: Okabe-Ito colours, by meaning.
COLORS = {
    "threads": "#0072B2",      # blue
    "processes": "#D55E00",    # vermillion
    "ideal": "#000000",        # black
    "ceiling": "#999999",      # grey
    "serial": "#009E73",       # bluish green
    "dask": "#CC79A7",         # reddish purple
    "highlight": "#E69F00",    # orange
}
#: One colour per CPU core in timelines (cycled when there are more cores).
CORE_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
               "#000000"]


def color_for(mode: str) -> str:
    """The course's colour for a mode ("threads", "processes", ...)."""
    return COLORS.get(mode, COLORS["ceiling"])


def draw_speedup(ax: Axes, sweep: Sweep, fit: bool = True, max_workers: int | None = None) -> None:
    """Draw measured speedup (median and min-max spread) per mode, the ideal line and this machine's ceiling.

    The ceiling is min(n, usable CPUs): no CPU-bound job can beat it here.
    With ``fit`` an Amdahl curve fitted to each mode's points is drawn dotted.
    """
    counts = sorted({p.n_workers for p in sweep.points}) or [1]
    top = max(max_workers or 1, counts[-1], 2)
    ns = list(range(1, top + 1))
    ax.plot(ns, ns, ls="--", lw=1, color=COLORS["ideal"], label="ideal: S = n")
    ax.plot(ns, [min(n, sweep.usable_cpus) for n in ns], ls="-", lw=6, alpha=0.25,
            color=COLORS["ceiling"], label=f"ceiling: {sweep.usable_cpus} usable CPU(s)")
    for mode in sweep.modes():
        rows = sweep.speedups(mode)
        if not rows:
            continue
        n, s, lo, hi = zip(*rows)
        color = color_for(mode)
        ax.fill_between(n, lo, hi, color=color, alpha=0.2, lw=0)
        ax.plot(n, s, "o-", color=color, label=f"{mode} (median, min-max band)")
        f = sweep.serial_fraction(mode) if fit else None
        if f is not None:
            ax.plot(ns, [amdahl_speedup(f, k) for k in ns], ":", color=color,
                    label=f"{mode}: Amdahl fit, serial fraction {f:.2f}")
    ax.set_xlabel("workers (n)")
    ax.set_ylabel("speedup S(n) = T(1) / T(n)  (times faster)")
    ax.set_xticks(ns)
    ax.set_xlim(0.8, top + 0.2)
    ax.set_ylim(0, top + 0.5)
    ax.set_title(f"{sweep.seconds:g} s of {sweep.kind!r} work shared among n workers")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")


def draw_times(ax: Axes, sweep: Sweep) -> None:
    """Draw the wall time of each mode against the number of workers (median and spread)."""
    for mode in sweep.modes():
        pts = sweep.curve(mode)
        n = [p.n_workers for p in pts]
        color = color_for(mode)
        ax.fill_between(n, [p.low for p in pts], [p.high for p in pts], color=color, alpha=0.2, lw=0)
        ax.plot(n, [p.median for p in pts], "o-", color=color, label=mode)
    ax.set_xlabel("workers (n)")
    ax.set_ylabel("wall time (s)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def draw_timeline(ax: Axes, run: RunResult, by_core: bool = True) -> None:
    """Draw one bar per worker from its start to its end (a Gantt chart).

    Where the workers were sampled (Linux), each bar is cut into the sampling
    intervals: coloured by the CPU core the worker was on, and the more of the
    interval it spent running, the darker. Pale means waiting (for the GIL, a
    lock, a sleep). Elsewhere each bar is one solid block in the mode's colour.
    """
    label = "thread" if run.mode == "threads" else "process"
    cores: set[int] = set()
    for r in run.records:
        y = r.index
        samples = [s for s in r.samples if r.start <= s[0] <= r.end] if by_core else []
        if not samples:
            ax.barh(y, r.duration, left=r.start, height=0.6, color=color_for(run.mode))
            continue
        edges = [r.start] + [t for t, _, _ in samples[1:]] + [r.end]
        for (_, core, busy), left, right in zip(samples, edges[:-1], edges[1:]):
            ax.barh(y, right - left, left=left, height=0.6, lw=0, alpha=0.12 + 0.88 * busy,
                    color=CORE_COLORS[core % len(CORE_COLORS)])
            cores.add(core)
    ax.set_yticks([r.index for r in run.records],
                  [f"{label} {r.index}\n(pid {r.pid})" for r in run.records], fontsize="small")
    ax.invert_yaxis()
    ax.set_xlabel("time since the run started (s)")
    ax.set_xlim(0, max(run.wall, 1e-3))
    ax.set_title(f"{run.n_workers} {run.mode}: wall time {run.wall:.2f} s")
    ax.grid(axis="x", alpha=0.3)
    if cores:
        from matplotlib.patches import Patch

        handles = [Patch(color=CORE_COLORS[c % len(CORE_COLORS)], label=f"on core {c}")
                   for c in sorted(cores)]
        handles.append(Patch(color=CORE_COLORS[0], alpha=0.12, label="pale = waiting"))
        ax.legend(handles=handles, fontsize="small", loc="lower right")


def figure(width: float = 7.0, height: float = 4.0) -> Figure:
    """A new matplotlib Figure not tied to pyplot (safe to draw from a background thread).

    ``width`` and ``height`` are in inches, from 1 to 30.
    """
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of inches, not {value!r}.")
        if not 1 <= value <= 30:
            raise ValueError(f"{name} must be from 1 to 30 inches; got {value!r}.")
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = 90) -> bytes:
    """Render a figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class LiveFigure:
    """A figure that can be redrawn while work runs, shown as an ipywidgets ``Image``.

    ``draw`` receives a fresh figure and draws everything on it; call
    :meth:`update` whenever there is something new to show. Works from a
    background thread, because it never touches pyplot.
    """

    def __init__(self, draw: Callable[[Figure], None], width: float = 7.0, height: float = 4.0):
        import ipywidgets as widgets

        self.draw = draw
        self.size = (width, height)
        self.updates = 0
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{int(width * 90)}px"))

    def update(self) -> None:
        """Redraw and send the new picture to the browser."""
        fig = figure(*self.size)
        self.draw(fig)
        self.image.value = to_png(fig)
        self.updates += 1

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.image)

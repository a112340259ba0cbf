"""A control panel that measures speedup live: threads vs processes, on three kinds of work.

::

    from helpers.panel import SpeedupPanel
    speedup = SpeedupPanel()
    speedup                          # shows the controls and the (still empty) plot
    sweep = speedup.run(wait=True)   # or press Run; Stop ends a run within about a second

Pressing **Run** shares a fixed amount of work among 1, 2, ... n workers and
times it (see :func:`helpers.measure.sweep`). Each finished point is added to a
speedup curve at once, so the curve grows while you watch. At the end, one
more run per mode is recorded with n workers and drawn as a timeline beside
the curve: it shows *when* each worker was really running.

The measuring runs in a background thread, so that Stop can be heard while
Run is busy: ``SpeedupPanel?`` explains.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Iterable, Iterator, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import launch, measure, plots, system, workloads
from .launch import RunResult
from .measure import Point, Sweep
from .validation import validate_choice, validate_int

#: The choices of the mode control, and the modes each one measures.
MODE_CHOICES: dict[str, tuple[str, ...]] = {
    "both": ("threads", "processes"),
    "threads": ("threads",),
    "processes": ("processes",),
}
#: The most repeats the panel offers (more only make a run longer).
MAX_REPEATS = 10
#: The most seconds of work per run the panel accepts.
MAX_SECONDS = 10.0
#: How long Stop waits for the measuring thread to end (seconds).
STOP_WAIT = 5.0

#: What the status label says (its text starts with one of these).
READY, RUNNING, DONE, STOPPED, FAILED = "ready", "running…", "done", "stopped", "failed:"


# --------------------------------------------------------------------------- settings


def worker_cap() -> int:
    """The largest worker count the panel offers: twice the usable CPUs, at least 4, at most launch.MAX_WORKERS.

    Twice the CPUs is enough to see the curve go flat once the CPUs are all busy.
    """
    return min(launch.MAX_WORKERS, max(4, 2 * system.usable_cpus()))


def default_workers() -> int:
    """The worker count the panel starts with: the usable CPUs, but at least 2 and at most 4 (a short first run)."""
    return max(2, min(4, system.usable_cpus()))


def default_repeats() -> int:
    """Timings per point the panel starts with: 3, or 2 in quick mode (``COURSE_QUICK=1``)."""
    return 2 if system.quick_mode() else 3


def worker_counts(up_to: int) -> list[int]:
    """The worker counts a run measures: 1, 2, 3, 4, then doubling (8, 16, ...), plus ``up_to`` itself.

    >>> worker_counts(3)
    [1, 2, 3]
    >>> worker_counts(12)
    [1, 2, 3, 4, 8, 12]
    """
    counts = [n for n in range(1, min(up_to, 4) + 1)]
    n = 8
    while n < up_to:
        counts.append(n)
        n *= 2
    if up_to not in counts:
        counts.append(up_to)
    return counts


def validate_settings(kind: str, mode: str, max_workers: int, repeats: int, seconds: float) -> None:
    """Raise a ValueError or TypeError in plain words if the panel cannot run with these settings.

    Nothing is started; call this before launching anything.
    """
    validate_choice(kind, "kind", workloads.KINDS)
    validate_choice(mode, "mode", MODE_CHOICES)
    cap = worker_cap()
    if isinstance(max_workers, bool) or not isinstance(max_workers, int):
        raise TypeError(f"max_workers must be a whole number, not {max_workers!r}.")
    if not 2 <= max_workers <= cap:
        raise ValueError(
            f"max_workers={max_workers}: a speedup curve needs at least 2 workers, and this panel "
            f"goes up to {cap} here (twice the {system.usable_cpus()} usable CPU(s), at least 4)."
        )
    validate_int(repeats, "repeats", low=1, high=MAX_REPEATS)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds is the amount of work per run, a number, not {seconds!r}.")
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(
            f"seconds={seconds}: use more than 0 and at most {MAX_SECONDS:g} s of work per run; "
            f"0.2 to 1 s is enough to see every effect."
        )


#: Environment variables that a freshly started Python's BLAS reads to pick its number of threads.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS",
                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


@contextlib.contextmanager
def one_blas_thread(kind: str) -> Iterator[None]:
    """For NumPy work, limit BLAS (the matrix library under NumPy) to one thread per worker while inside.

    Otherwise one "single" worker doing a matrix product would already use every
    core, and the comparison between 1 and n workers would mean nothing.

    How: ``threadpoolctl.threadpool_limits`` sets the limit in this Python, so
    it holds for its threads and for children started by ``fork`` (a copy of
    it). Children started by ``spawn`` load BLAS afresh, so the
    ``OPENBLAS_NUM_THREADS=1``-style variables are set too while inside: a new
    Python reads them when it starts. (Children of a ``forkserver`` are copies
    of the server, which read its variables when it started; there, limit BLAS
    inside the worker function.) Everything is put back on leaving.
    """
    if kind != "numpy":
        yield
        return
    import os

    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    os.environ.update({name: "1" for name in BLAS_THREAD_VARIABLES})
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def blas_threads() -> int | None:
    """How many threads BLAS may use in the process that calls this (None if threadpoolctl sees none).

    Run it in a worker to see the limit of :func:`one_blas_thread` arrive there.
    """
    import numpy  # noqa: F401  (loads BLAS, so threadpoolctl can see it)
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts) if counts else None


# --------------------------------------------------------------------------- measuring


def measure_timelines(kind: str, seconds: float, n_workers: int, modes: Sequence[str],
                      stop: threading.Event | None = None) -> dict[str, RunResult]:
    """One recorded run per mode (``seconds`` of ``kind`` work shared by ``n_workers``), for timelines.

    The runs sample every ~10 ms whether each worker was running (Linux only;
    see :attr:`helpers.launch.WorkerRecord.running_share`).
    """
    return {mode: launch.run_workload(kind, seconds, n_workers, mode, track_cores=True, stop=stop,
                                      show_progress=False)
            for mode in modes}


def running_shares(run: RunResult) -> list[float | None]:
    """Each worker's share of its life spent running on a CPU (None where the OS does not tell)."""
    return [r.running_share for r in run.records]


def format_shares(run: RunResult) -> str:
    """The running shares of one run as text, e.g. ``'0.51, 0.49'``."""
    shares = running_shares(run)
    if all(s is None for s in shares):
        return "not reported on this OS (Linux only)"
    text = ", ".join("-" if s is None else f"{s:.2f}" for s in shares)
    if None in shares:
        text += " (- = ended before the sampler looked at it twice)"
    return text


# --------------------------------------------------------------------------- explaining


def gil_sentence() -> str:
    """One sentence on what the GIL means for threads, chosen by this Python's GIL state."""
    if system.gil_enabled():
        return ("This Python runs with the GIL (Global Interpreter Lock): only one thread at a time "
                "may run Python code, so threads doing pure-Python work take turns.")
    return ("This Python runs WITHOUT the GIL (a free-threaded build): threads may run Python code "
            "at the same time, so on pure-Python work they can speed up like processes.")


def physical_ceiling() -> int:
    """Physical cores among the CPUs this Python may use (at most :func:`helpers.system.usable_cpus`).

    With SMT (hyper-threading) two logical CPUs share one core, so CPU-bound work
    usually stops speeding up near the number of *cores*. Linux: counted from
    ``/sys/devices/system/cpu/cpuN/topology`` over the allowed CPUs; elsewhere
    ``psutil.cpu_count(logical=False)``.
    """
    from pathlib import Path

    usable = system.usable_cpus()
    cores = set()
    for cpu in system.affinity_cpus() or []:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add((topology / "physical_package_id").read_text().strip()
                      + ":" + (topology / "core_id").read_text().strip())
        except OSError:
            cores = set()
            break
    physical = len(cores) or system.physical_cores() or usable
    return max(1, min(usable, physical))


def cpu_sentence() -> str:
    """One sentence on how many workers this machine can run at once (from system.usable_cpus())."""
    cpus = system.usable_cpus()
    if cpus == 1:
        return ("This Python may use only 1 CPU, so no two workers can ever run at the same moment: "
                "processes take turns just like threads, and every CPU-bound curve stays flat near 1x. "
                "That is the machine's limit, not the method's; on a laptop with more cores the "
                "process curve climbs.")
    text = (f"This Python may use {cpus} CPUs, so at most {cpus} workers can compute at the same "
            f"moment: no CPU-bound speedup can go above {cpus}x here.")
    cores = physical_ceiling()
    if cores < cpus:
        text += (f" They sit on {cores} physical cores (two hardware threads share a core), so "
                 f"expect the curve to flatten nearer {cores}x.")
    return text


def expected_speedup(kind: str, mode: str, n_workers: int, usable_cpus: int) -> float:
    """The speedup theory expects for ``n_workers`` on this machine (what a noise-free run would show).

    Waiting ("io") needs no CPU, so n workers can give n x. CPU work stops at the
    usable CPUs -- and pure Python in threads stays at 1x while the GIL is on.
    """
    if kind == "io":
        return float(n_workers)
    if kind == "cpu" and mode == "threads" and system.gil_enabled():
        return 1.0
    return float(min(n_workers, usable_cpus))


def explain_speedups(sweep: Sweep, n_workers: int) -> str:
    """A few sentences on what the measured speedups with ``n_workers`` mean, from the numbers themselves."""
    reasons = {
        ("cpu", "threads"): "pure-Python work holds the GIL, so the threads take turns"
        if system.gil_enabled() else "without the GIL the threads run Python side by side",
        ("cpu", "processes"): "each process has its own interpreter and its own GIL",
        ("numpy", "threads"): "NumPy lets go of the GIL inside its loops, so the threads overlap",
        ("numpy", "processes"): "each process has its own interpreter and its own GIL",
        ("io", "threads"): "a waiting thread lets go of the GIL and needs no CPU",
        ("io", "processes"): "a waiting process needs no CPU",
    }
    one_cpu = sweep.kind != "io" and sweep.usable_cpus == 1
    lines = []
    for mode in sweep.modes():
        measured = sweep.speedup_at(mode, n_workers)
        if measured is None:
            continue
        expected = expected_speedup(sweep.kind, mode, n_workers, sweep.usable_cpus)
        reason = "there is only 1 usable CPU, so the workers take turns" if one_cpu else reasons[sweep.kind, mode]
        line = (f"{mode.capitalize()}: {measured:.2f}x with {n_workers} workers, where theory "
                f"expects about {expected:.1f}x: {reason}.")
        if abs(measured - expected) > 0.3 * expected:
            line += (" That is further off than usual: start-up costs or other programs using the "
                     "CPUs during the run. Run it again and compare the spread.")
        lines.append(line)
    if one_cpu:
        lines.append("With 1 usable CPU only one worker runs at any moment, so no CPU-bound curve "
                     "can rise here, whatever the method (the GIL or NumPy make no difference).")
    return "\n".join(lines)


def summary(sweep: Sweep, timelines: dict[str, RunResult] | None = None) -> str:
    """A short plain-text account of a run, shown under the panel.

    The speedups at the largest worker count measured, each with what theory
    expects and why (:func:`explain_speedups`); then, if recorded, each
    worker's running share in the timeline runs.
    """
    counts = sorted({n for mode in sweep.modes() for n, *_ in sweep.speedups(mode) if n > 1})
    if not counts:
        lines = ["Not enough measured for a speedup yet (it needs 1 worker and at least one more count)."]
    else:
        lines = explain_speedups(sweep, counts[-1]).splitlines()
    for mode, run in (timelines or {}).items():
        worker = "thread" if mode == "threads" else "process"
        lines.append(f"Running share per {worker} ({run.n_workers} {mode}): {format_shares(run)}.")
    if sweep.stopped:
        lines.append("The run was stopped early: only the points in the plot were measured.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- drawing


def draw_timelines(axes: Sequence[Axes], runs: Iterable[RunResult]) -> None:
    """One timeline per run (:func:`helpers.plots.draw_timeline`), on one time scale so their lengths compare.

    The legend of the cores goes beside the bars, not on them.
    """
    pairs = list(zip(axes, runs))
    longest = max((run.wall for _, run in pairs), default=0.0)
    for ax, run in pairs:
        plots.draw_timeline(ax, run)
        ax.set_xlim(0, max(longest, 1e-3))
        legend = ax.get_legend()
        if legend is not None:
            legend.set_loc("upper left")
            legend.set_bbox_to_anchor((1.01, 1.0), transform=ax.transAxes)


def draw_core_ceiling(ax: Axes, up_to: int) -> None:
    """Add the physical-core ceiling min(n, cores) to a speedup plot (dash-dotted)."""
    cores = physical_ceiling()
    ns = list(range(1, up_to + 1))
    ax.plot(ns, [min(n, cores) for n in ns], ls="-.", lw=1.5, color=plots.COLORS["ceiling"],
            label=f"ceiling: {cores} physical core(s)")
    ax.legend(loc="upper left", fontsize="small")


def draw_panel(fig: Figure, sweep: Sweep, timelines: dict[str, RunResult], max_workers: int,
               stopped: bool = False) -> None:
    """The panel's picture: the speedup curve on the left, one timeline per mode on the right.

    ``stopped``: the run was stopped, so the place of the timelines says so.
    """
    grid = fig.add_gridspec(max(1, len(timelines)), 2, width_ratios=[1.1, 1])
    ax = fig.add_subplot(grid[:, 0])
    plots.draw_speedup(ax, sweep, max_workers=max_workers)
    draw_core_ceiling(ax, max(max_workers, *(p.n_workers for p in sweep.points), 2))
    if not timelines:
        ax = fig.add_subplot(grid[:, 1])
        ax.set_axis_off()
        text = ("Stopped before the timelines were recorded.\nPress Run for a full run." if stopped
                else "The timelines of one run per mode\nappear here when the curve is done.")
        ax.text(0.5, 0.5, text,
                ha="center", va="center", color=plots.COLORS["ceiling"])
        return
    draw_timelines([fig.add_subplot(grid[row, 1]) for row in range(len(timelines))], timelines.values())


# --------------------------------------------------------------------------- the panel


class SpeedupPanel:
    """Worker count, mode and workload controls, Run and Stop buttons, and a live speedup plot.

    Parameters (the starting values of the controls)
    ----------
    kind : "cpu" (pure Python, holds the GIL), "numpy" (releases the GIL) or "io" (waiting).
    mode : "both", "threads" or "processes".
    max_workers : measure 1 ... max_workers workers (2 to :func:`worker_cap`; default :func:`default_workers`).
    repeats : timings per point; the plot shows their median and spread (default :func:`default_repeats`).
    seconds : work per run, shared among the workers (quick mode shrinks it 4x).

    How Stop can work while Run is busy: Run starts a background thread that
    measures and updates the plot and the status label. The kernel's main thread
    stays free, so it hears the Stop click and sets an Event; the launcher checks
    that Event every 50 ms and stops the workers (threads through
    ``workloads.STOP``, processes by ending them). The background thread never
    prints: output from it would land in whichever cell ran last.

    Use from code: ``panel.run(wait=True)`` measures with the current settings and
    returns the :class:`helpers.measure.Sweep`; ``panel.stop()`` ends a run.
    For tests: ``panel.state`` ("ready", "running", "done", "stopped", "failed"),
    ``panel.status`` (the label widget), ``panel.image`` (the plot widget),
    ``panel.updates`` (how often the plot was redrawn), ``panel.result`` (the text under
    the plot, from :func:`summary`). The Run and Stop buttons,
    the status label and the plot carry the CSS classes ``speedup-run``,
    ``speedup-stop``, ``speedup-status`` and ``speedup-plot``.
    """

    def __init__(self, kind: str = "cpu", mode: str = "both", max_workers: int | None = None,
                 repeats: int | None = None, seconds: float = 0.4):
        import ipywidgets as widgets

        max_workers = default_workers() if max_workers is None else max_workers
        repeats = default_repeats() if repeats is None else repeats
        validate_settings(kind, mode, max_workers, repeats, seconds)
        self.seconds = seconds
        self.sweep: Sweep | None = None
        self.timelines: dict[str, RunResult] = {}
        self.error: BaseException | None = None
        self.state = "ready"
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()      # set by Stop: the run should end
        self._finished = threading.Event()  # set by the measuring thread as its very last act
        self._finished.set()
        self._axis_workers = max_workers  # the x-axis of the plot, fixed for the length of a run

        self.workers = widgets.IntSlider(value=max_workers, min=2, max=worker_cap(),
                                         description="workers up to", style={"description_width": "initial"})
        self.mode = widgets.ToggleButtons(options=list(MODE_CHOICES), value=mode, description="mode")
        self.kind = widgets.ToggleButtons(
            options=[("CPU: pure Python", "cpu"), ("NumPy", "numpy"), ("I/O: waiting", "io")],
            value=kind, description="work")
        self.repeats = widgets.IntSlider(value=repeats, min=1, max=MAX_REPEATS, description="repeats")
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop",
                                          disabled=True)
        self.status = widgets.HTML(value=READY)
        self.result = widgets.HTML()
        self.live = plots.LiveFigure(self._draw, width=11.0, height=4.6)
        self.image = self.live.image
        for widget, css in [(self.run_button, "speedup-run"), (self.stop_button, "speedup-stop"),
                            (self.status, "speedup-status"), (self.image, "speedup-plot"),
                            (self.workers, "speedup-workers"), (self.mode, "speedup-mode"),
                            (self.kind, "speedup-kind"), (self.repeats, "speedup-repeats")]:
            widget.add_class(css)
        self.run_button.on_click(lambda _button: self._on_run())
        self.stop_button.on_click(lambda _button: self.stop())
        self.box = widgets.VBox([
            widgets.HBox([self.workers, self.repeats]), self.kind, self.mode,
            widgets.HBox([self.run_button, self.stop_button, self.status]),
            self.image, self.result,
        ])
        self.live.update()  # an empty frame: the ideal line and this machine's ceiling

    # ----------------------------------------------------------------- state

    @property
    def updates(self) -> int:
        """How many times the plot has been drawn (at creation, when a run starts, after each point, at the end)."""
        return self.live.updates

    @property
    def running(self) -> bool:
        """True while a measurement is going on."""
        return not self._finished.is_set()

    def settings(self) -> dict:
        """The current settings of the controls, as keyword arguments."""
        return {"kind": self.kind.value, "mode": self.mode.value, "max_workers": self.workers.value,
                "repeats": self.repeats.value, "seconds": self.seconds}

    # ----------------------------------------------------------------- actions

    def run(self, wait: bool = False, timeout: float = launch.DEFAULT_TIMEOUT) -> Sweep | None:
        """Start measuring with the current settings (what the Run button does).

        With ``wait=True`` block until the run is over and return its Sweep (use
        this from code and in tests: no thread outlives the call). Otherwise
        return None at once; the plot and ``status`` show the progress.
        Raises ValueError for bad settings and RuntimeError if a run is going.
        """
        settings = self.settings()
        validate_settings(**settings)
        if self.running:
            raise RuntimeError("A run is already going: press Stop or wait for it to finish.")
        self._join()  # a finished earlier run: collect its thread
        self._stop = threading.Event()
        self._finished = threading.Event()
        self.error = None
        self._axis_workers = settings["max_workers"]
        self._set_state("running", RUNNING)
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self._thread = threading.Thread(target=self._measure, args=(settings, timeout),
                                        name="speedup-panel", daemon=True)
        self._thread.start()
        return self.wait() if wait else None

    def wait(self, timeout: float | None = None) -> Sweep | None:
        """Block until the current run is over; return its Sweep. Re-raises an error the run hit.

        Interrupting the kernel while waiting stops the run first, so nothing is left running.
        """
        deadline = None if timeout is None else time.perf_counter() + timeout
        try:
            # Short waits in a loop, so an interrupt is noticed within a tenth of a second.
            # (An Event, not Thread.join: on Python 3.11 an interrupted join() can mark a
            # still-running thread as finished.)
            while not self._finished.wait(0.1):
                if deadline is not None and time.perf_counter() > deadline:
                    self.stop()
                    raise TimeoutError(f"The run did not finish within {timeout:g} s and was stopped.")
        except KeyboardInterrupt:  # stop the workers, then pass it on
            self.stop()
            raise
        self._join()
        if self.error is not None:
            raise self.error
        return self.sweep

    def stop(self, wait: bool = True) -> None:
        """Ask the run to end (what Stop does). Workers are stopped within about a second.

        With ``wait`` (the default) return only when the measuring thread has ended.
        """
        self._stop.set()
        if wait:
            self._join(STOP_WAIT)

    # ----------------------------------------------------------------- inside

    def _on_run(self) -> None:
        """The Run button: start a run, or say in the status label why it cannot start."""
        try:
            self.run(wait=False)
        except (ValueError, TypeError, RuntimeError) as exc:
            self.status.value = f"{FAILED} {exc}"

    def _join(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` s for the measuring thread to finish, then collect it."""
        if self._thread is not None and self._finished.wait(timeout):
            self._thread.join(1.0)  # it has only to return now
            self._thread = None

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.status.value = text

    def _draw(self, fig: Figure) -> None:
        empty = Sweep(self.kind.value, self.seconds, None, system.usable_cpus())
        draw_panel(fig, self.sweep or empty, self.timelines, self._axis_workers, stopped=self._stop.is_set())

    def _measure(self, settings: dict, timeout: float) -> None:
        """Body of the measuring thread. Talks only through widgets, never print()."""
        kind, up_to = settings["kind"], settings["max_workers"]
        modes = MODE_CHOICES[settings["mode"]]
        counts = worker_counts(up_to)
        total = len(counts) * len(modes)
        self.sweep, self.timelines = None, {}

        def on_point(sweep: Sweep, point: Point) -> None:
            self.sweep = sweep
            self.status.value = f"{RUNNING} {len(sweep.points)} of {total} points measured"
            self.live.update()

        try:
            self.status.value = f"{RUNNING} warming up"
            self.live.update()  # clear the previous run's curve
            with one_blas_thread(kind):
                self.sweep = measure.sweep(kind, counts, modes, settings["seconds"],
                                           settings["repeats"], on_point=on_point, stop=self._stop,
                                           show_progress=False, timeout=timeout)
                if not self.sweep.stopped and not self._stop.is_set():
                    self.status.value = f"{RUNNING} recording a timeline of {up_to} workers"
                    self.timelines = measure_timelines(kind, settings["seconds"], up_to, modes,
                                                       self._stop)
            self.live.update()
            self.result.value = "<br>".join(html.escape(line) for line in
                                            summary(self.sweep, self.timelines).splitlines())
            if self.sweep.stopped or self._stop.is_set():
                self._set_state("stopped", STOPPED)
            else:
                self._set_state("done", DONE)
        except launch.RunStopped:  # stopped during the timeline runs
            self.live.update()
            self._set_state("stopped", STOPPED)
        except Exception as exc:  # shown in the panel; wait() re-raises it
            self.error = exc
            self._set_state("failed", f"{FAILED} {exc}")
        finally:
            self.run_button.disabled = False
            self.stop_button.disabled = True
            self._finished.set()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.box)


__all__ = [
    "BLAS_THREAD_VARIABLES", "MAX_REPEATS", "MAX_SECONDS", "MODE_CHOICES", "STOP_WAIT", "SpeedupPanel",
    "blas_threads", "validate_settings", "cpu_sentence", "default_repeats", "default_workers", "draw_core_ceiling", "draw_panel",
    "draw_timelines", "expected_speedup", "explain_speedups", "format_shares", "gil_sentence",
    "measure_timelines", "one_blas_thread", "physical_ceiling", "running_shares", "summary", "worker_cap",
    "worker_counts",
]
